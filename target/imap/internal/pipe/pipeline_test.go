package pipe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/target/imap/internal/session"
	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

var errClosed = errors.New("pipeline closed")

// A heldServer speaks just enough IMAP for APPEND over net.Pipe
// connections. It answers an APPEND when the test releases it (or, with
// auto set, after a short random delay), and checks at each APPEND it
// receives that no connection holds unanswered APPENDs of two folders
// and no folder has unanswered APPENDs on two connections.
type heldServer struct {
	t    *testing.T
	auto bool

	mu       sync.Mutex
	conns    int
	pending  []pendingAppend // received, unanswered
	received chan string     // the folder of each APPEND received
	bad      []string        // invariant violations
}

type pendingAppend struct {
	conn   int
	folder string
	tag    string
	w      *lockedWriter
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lockedWriter) line(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\r\n", args...)
	_ = l.w.Flush()
}

func newHeldServer(t *testing.T, auto bool) *heldServer {
	return &heldServer{t: t, auto: auto, received: make(chan string, 10000)}
}

// dial is a Config.Dial: a session on a net.Pipe served by h.
func (h *heldServer) dial(context.Context) (*session.Session, error) {
	client, server := net.Pipe()
	h.mu.Lock()
	h.conns++
	id := h.conns
	h.mu.Unlock()
	go h.serve(id, server)
	h.t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return &session.Session{Conn: client, R: bufio.NewReader(client), W: bufio.NewWriter(client),
		Read: new(atomic.Uint64), LastRead: new(atomic.Int64)}, nil
}

func (h *heldServer) serve(id int, c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := &lockedWriter{w: bufio.NewWriter(c)}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		verb, args, _ := strings.Cut(rest, " ")
		if verb == "LOGOUT" {
			w.line("* BYE bye")
			w.line("%s OK done", tag)
			return
		}
		folder, _, _ := strings.Cut(args, " ")
		size, _, ok := wire.LiteralMarker(args)
		if verb != "APPEND" || !ok {
			w.line("%s BAD what", tag)
			continue
		}
		if !strings.HasSuffix(args, "+}") {
			w.line("+ go ahead")
		}
		if _, err := io.CopyN(io.Discard, r, size+2); err != nil {
			return
		}
		h.arrive(pendingAppend{conn: id, folder: folder, tag: tag, w: w})
	}
}

func (h *heldServer) arrive(a pendingAppend) {
	h.mu.Lock()
	for _, o := range h.pending {
		if o.conn == a.conn && o.folder != a.folder {
			h.bad = append(h.bad, fmt.Sprintf("connection %d holds APPENDs to %s and %s", a.conn, o.folder, a.folder))
		}
		if o.folder == a.folder && o.conn != a.conn {
			h.bad = append(h.bad, fmt.Sprintf("%s has APPENDs on connections %d and %d", a.folder, o.conn, a.conn))
		}
	}
	h.pending = append(h.pending, a)
	h.mu.Unlock()
	h.received <- a.folder
	if h.auto {
		time.AfterFunc(time.Duration(rand.IntN(2000))*time.Microsecond, func() { h.answer(a) })
	}
}

// answer answers a, if still pending.
func (h *heldServer) answer(a pendingAppend) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, o := range h.pending {
		if o == a {
			h.pending = append(h.pending[:i], h.pending[i+1:]...)
			o.w.line("%s OK [APPENDUID 1 1] done", o.tag)
			return
		}
	}
}

// release answers the n oldest pending APPENDs (all when n < 0).
func (h *heldServer) release(n int) {
	h.mu.Lock()
	if n < 0 || n > len(h.pending) {
		n = len(h.pending)
	}
	some := append([]pendingAppend(nil), h.pending[:n]...)
	h.mu.Unlock()
	for _, a := range some {
		h.answer(a)
	}
}

// await returns the folders of the next n APPENDs received.
func (h *heldServer) await(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	for range n {
		select {
		case f := <-h.received:
			got = append(got, f)
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d APPENDs (%v), want %d more", len(got), got, n-len(got))
		}
	}
	return got
}

// none fails when an APPEND arrives within a short while.
func (h *heldServer) none(t *testing.T) {
	t.Helper()
	select {
	case f := <-h.received:
		t.Fatalf("an APPEND to %s arrived, want it to wait", f)
	case <-time.After(100 * time.Millisecond):
	}
}

func (h *heldServer) check(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.bad {
		t.Error(b)
	}
}

func (h *heldServer) pipeline(t *testing.T, conns, depth int) *Pipeline {
	p := New(Config{
		Conns: conns, Depth: depth, Dial: h.dial,
		Timeout:       func(int64) time.Duration { return 10 * time.Second },
		LogoutTimeout: time.Second,
		Closed:        errClosed,
		Logger:        slog.New(slog.DiscardHandler),
	})
	t.Cleanup(p.Close)
	return p
}

// appendAsync runs one Append to folder and sends its error on the
// returned channel.
func appendAsync(ctx context.Context, p *Pipeline, folder string) <-chan error {
	done := make(chan error, 1)
	go func() {
		body := "Subject: " + folder + "\r\n\r\nx\r\n"
		_, err := p.Append(ctx, folder, "APPEND "+folder+" ", strings.NewReader(body), int64(len(body)), false)
		done <- err
	}()
	return done
}

func wait(t *testing.T, errs ...<-chan error) {
	t.Helper()
	for _, ch := range errs {
		select {
		case err := <-ch:
			if err != nil {
				t.Errorf("Append() = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Append() did not return")
		}
	}
}

// Two folders at once: each gets a connection of its own, all its
// APPENDs in flight there.
func TestOneConnectionPerFolder(t *testing.T) {
	h := newHeldServer(t, false)
	p := h.pipeline(t, 2, 4)
	var errs []<-chan error
	for i := range 16 {
		errs = append(errs, appendAsync(context.Background(), p, []string{"A", "B"}[i%2]))
	}
	h.await(t, 16) // 8 per folder: within the per-slot limit of 2 × 4
	h.mu.Lock()
	conn := map[string]int{}
	for _, a := range h.pending {
		conn[a.folder] = a.conn
	}
	h.mu.Unlock()
	if conn["A"] == conn["B"] {
		t.Errorf("A and B both on connection %d", conn["A"])
	}
	h.check(t)
	h.release(-1)
	wait(t, errs...)
	if got := p.MaxInFlight(); got != 8 {
		t.Errorf("most in flight on one connection = %d, want 8", got)
	}
}

// A folder's slot full (Conns × Depth in flight): the next call waits,
// never spilling onto the idle connection, and goes once one finishes.
func TestFullSlotWaitsAndWakes(t *testing.T) {
	h := newHeldServer(t, false)
	p := h.pipeline(t, 2, 2)
	var errs []<-chan error
	for range 5 {
		errs = append(errs, appendAsync(context.Background(), p, "A"))
	}
	h.await(t, 4)
	h.none(t)
	h.release(1)
	h.await(t, 1)
	h.check(t)
	h.release(-1)
	wait(t, errs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns != 1 {
		t.Errorf("%d connections dialed, want 1", h.conns)
	}
}

// With more folders than connections, a folder waits for one to become
// idle, and then the connection serves it alone.
func TestFolderWaitsForIdleSlot(t *testing.T) {
	h := newHeldServer(t, false)
	p := h.pipeline(t, 1, 4)
	a1, a2 := appendAsync(context.Background(), p, "A"), appendAsync(context.Background(), p, "A")
	h.await(t, 2)
	b := appendAsync(context.Background(), p, "B")
	h.none(t)
	// A's later calls wait behind B, so that A's slot drains.
	a3 := appendAsync(context.Background(), p, "A")
	h.none(t)
	h.release(1)
	h.none(t)
	h.release(1)
	if got := h.await(t, 1); got[0] != "B" {
		t.Errorf("after A drained, %s came first, want B", got[0])
	}
	h.release(-1)
	h.await(t, 1)
	h.release(-1)
	wait(t, a1, a2, b, a3)
	h.check(t)
}

// A call waiting for a full slot, or for an idle one, returns when its
// context ends, and the others go on.
func TestWaitRespectsContext(t *testing.T) {
	h := newHeldServer(t, false)
	p := h.pipeline(t, 1, 1)
	a := appendAsync(context.Background(), p, "A")
	h.await(t, 1)
	for _, folder := range []string{"A", "B"} {
		ctx, cancel := context.WithCancel(context.Background())
		w := appendAsync(ctx, p, folder)
		time.Sleep(20 * time.Millisecond)
		cancel()
		select {
		case err := <-w:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Append(%s) = %v, want context.Canceled", folder, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Append(%s) kept waiting after its context ended", folder)
		}
	}
	b := appendAsync(context.Background(), p, "B")
	h.none(t)
	h.release(-1)
	h.await(t, 1)
	h.release(-1)
	wait(t, a, b)
	h.check(t)
}

// Close wakes the calls that wait.
func TestCloseWakesWaiters(t *testing.T) {
	h := newHeldServer(t, false)
	p := h.pipeline(t, 1, 1)
	a := appendAsync(context.Background(), p, "A")
	h.await(t, 1)
	b := appendAsync(context.Background(), p, "B")
	time.Sleep(20 * time.Millisecond)
	go p.Close()
	for _, ch := range []<-chan error{a, b} {
		select {
		case err := <-ch:
			if err == nil {
				t.Errorf("Append() = nil after Close, want an error")
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Append() kept waiting after Close")
		}
	}
}

// Many calls over more folders than connections, answered in random
// order: every call returns, and no connection ever holds two folders
// nor a folder two connections.
func TestFoldersStress(t *testing.T) {
	h := newHeldServer(t, true)
	p := h.pipeline(t, 2, 3)
	var errs []<-chan error
	for i := range 600 {
		// Mostly in runs, as the reader sends them, with strays.
		f := "F" + strconv.Itoa(i/50)
		if rand.IntN(10) == 0 {
			f = "F" + strconv.Itoa(rand.IntN(12))
		}
		errs = append(errs, appendAsync(context.Background(), p, f))
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	wait(t, errs...)
	h.check(t)
}
