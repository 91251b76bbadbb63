package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// eightBitMail is mail with raw 8-bit header bytes, which Cyrus (default
// munge8bit) stores with each such byte as 'X', and one ASCII message it
// stores as it is. The last two differ only in 8-bit header bytes: Cyrus
// stores both as the same bytes.
func eightBitMail() [][]byte {
	return [][]byte{
		[]byte("From: a@example.org\r\nSubject: caf\xc3\xa9 1\r\nMessage-ID: <m1@example.org>\r\n\r\nbody one \xe9\r\n"),
		[]byte("From: J\xfcrgen <j@example.org>\r\nSubject: Gr\xfc\xdfe\r\n aus \xc3\x9cberlingen\r\n\r\nbody two, no Message-ID\r\n"),
		[]byte("From: a@example.org\r\nSubject: three\r\nMessage-ID: <\xc3\xa9t\xc3\xa9-3@example.org>\r\n\r\nbody three\r\n"),
		msg("plain@example.org", "ASCII only"),
		[]byte("From: b@example.org\r\nSubject: caf\xc3\xa9\r\n\r\nthe same body\r\n"),
		[]byte("From: b@example.org\r\nSubject: caf\xc3\xa8\r\n\r\nthe same body\r\n"),
	}
}

// cyrusRig is a POP3 test server holding msgs, a private Cyrus as the
// target and a state path.
type cyrusRig struct {
	t     *testing.T
	pop   *pop3test.Server
	srv   *cyrustest.Server
	user  cyrustest.User
	state string
	opts  migrate.Options
	// addr, when set, is where the target connects instead of Cyrus (a
	// proxy); wrap, when set, decorates the target.
	addr string
	wrap func(target.Target) target.Target
}

func newCyrusRig(t *testing.T, o cyrustest.Options, msgs [][]byte) *cyrusRig {
	t.Helper()
	r := &cyrusRig{t: t, srv: cyrustest.Start(t, o)}
	r.user = r.srv.Users[0]
	r.pop = pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"u": "pop-secret"},
		Messages: map[string][][]byte{"u": msgs}})
	r.state = filepath.Join(t.TempDir(), "state.db")
	// Cyrus stores an APPEND before it answers it.
	r.opts = migrate.Options{Settle: 100 * time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}
	return r
}

func (r *cyrusRig) spec() migrate.SourceSpec {
	opts := pop3.Options{Addr: r.pop.Addr, TLS: pop3.TLSNone, Username: "u", Password: "pop-secret"}
	return migrate.SourceSpec{Name: "pop3://u@test", Folder: "INBOX",
		Open: func(ctx context.Context) (source.Source, error) { return pop3.Dial(ctx, opts) }}
}

func (r *cyrusRig) target(ctx context.Context) target.Target {
	r.t.Helper()
	addr := r.srv.IMAPAddr
	if r.addr != "" {
		addr = r.addr
	}
	tgt, err := imap.New(ctx, imap.Options{Addr: addr, TLS: imap.TLSNone, Username: r.user.Name,
		Password: r.user.Password, Connections: 4})
	if err != nil {
		r.t.Fatalf("imap.New: %v", err)
	}
	r.t.Cleanup(func() { tgt.Close() })
	if r.wrap != nil {
		return r.wrap(tgt)
	}
	return tgt
}

func (r *cyrusRig) runErr(ctx context.Context) (*migrate.Report, error) {
	st, err := state.Open(r.state, state.Options{})
	if err != nil {
		r.t.Fatalf("state.Open: %v", err)
	}
	defer st.Close()
	m := &migrate.Migrator{Target: r.target(ctx), State: st, Options: r.opts, Sources: []migrate.SourceSpec{r.spec()}}
	return m.Run(ctx)
}

func (r *cyrusRig) run() *migrate.Report {
	r.t.Helper()
	rep, err := r.runErr(context.Background())
	if err != nil {
		r.t.Fatalf("Run() = %v", err)
	}
	if rep.Failed() != 0 {
		r.t.Fatalf("Run() failed %+v", rep.Failures)
	}
	return rep
}

func (r *cyrusRig) verify() *migrate.VerifyReport {
	r.t.Helper()
	st, err := state.Open(r.state, state.Options{ReadOnly: true})
	if err != nil {
		r.t.Fatal(err)
	}
	defer st.Close()
	m := &migrate.Migrator{Target: r.target(context.Background()), State: st, Options: r.opts,
		Sources: []migrate.SourceSpec{r.spec()}}
	rep, err := m.Verify(context.Background())
	if err != nil {
		r.t.Fatalf("Verify() = %v", err)
	}
	return rep
}

// wantStored checks that the user's INBOX holds exactly want, each as
// often as it is in want, in any order.
func (r *cyrusRig) wantStored(want [][]byte) {
	r.t.Helper()
	var got [][]byte
	for _, m := range r.srv.Fetch(r.t, r.user.Name, "") {
		got = append(got, m.Body)
	}
	sortBytes := func(s [][]byte) [][]byte {
		s = slices.Clone(s)
		slices.SortFunc(s, bytes.Compare)
		return s
	}
	if g, w := sortBytes(got), sortBytes(want); !slices.EqualFunc(g, w, bytes.Equal) {
		r.t.Fatalf("Cyrus holds %d messages:\n%q\nwant %d:\n%q", len(got), g, len(want), w)
	}
}

// mungedAll returns msgs as Cyrus stores them with munge8bit.
func mungedAll(msgs [][]byte) [][]byte {
	var out [][]byte
	for _, m := range msgs {
		out = append(out, identity.Munge(m))
	}
	return out
}

func cyrusModes(t *testing.T, fn func(t *testing.T, alt bool)) {
	for _, alt := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic", true: "altnamespace"}[alt], func(t *testing.T) { fn(t, alt) })
	}
}

// TestCyrusMungedCopiesFoundAgain migrates mail with 8-bit header bytes
// into Cyrus, which stores them as 'X': each message lands once; a second
// run, and a run with the state file deleted, copy nothing; verify lists
// the five munged copies as altered by the server and the ASCII message
// as present.
func TestCyrusMungedCopiesFoundAgain(t *testing.T) {
	cyrusModes(t, func(t *testing.T, alt bool) {
		msgs := eightBitMail()
		r := newCyrusRig(t, cyrustest.Options{AltNamespace: alt}, msgs)
		if rep := r.run(); rep.Copied != len(msgs) {
			t.Fatalf("first run copied %d, want %d", rep.Copied, len(msgs))
		}
		r.wantStored(mungedAll(msgs))
		if rep := r.run(); rep.Copied != 0 {
			t.Fatalf("second run copied %d, want 0", rep.Copied)
		}
		r.state = filepath.Join(t.TempDir(), "new.db")
		if rep := r.run(); rep.Copied != 0 || rep.Present != len(msgs) {
			t.Fatalf("with the state file lost: copied %d, present %d; want 0 and %d", rep.Copied, rep.Present, len(msgs))
		}
		r.wantStored(mungedAll(msgs))

		rep := r.verify()
		check(t, rep, migrate.FolderCheck{Expected: len(msgs), Present: 1, Altered: len(msgs) - 1})
		if !rep.Complete() || rep.OK() {
			t.Errorf("Complete() = %v, OK() = %v; want true, false", rep.Complete(), rep.OK())
		}
		var uids []uint32
		for _, it := range rep.Altered {
			if it.Reason != migrate.AlteredMunged || it.UID == 0 {
				t.Errorf("altered %+v, want reason %q and the copy's UID", it, migrate.AlteredMunged)
			}
			uids = append(uids, it.UID)
		}
		slices.Sort(uids)
		if len(slices.Compact(uids)) != len(msgs)-1 {
			t.Errorf("altered copies %v: want %d different UIDs", uids, len(msgs)-1)
		}
	})
}

// TestCyrusMungedSharedFormLostState: two messages that Cyrus stores as
// the same bytes (they differ only in 8-bit header bytes) are two
// messages. With only the first copied and the state file lost, a run
// must still copy the second: the copy stands for one of them only.
func TestCyrusMungedSharedFormLostState(t *testing.T) {
	all := eightBitMail()
	a, b := all[4], all[5]
	r := newCyrusRig(t, cyrustest.Options{}, [][]byte{a})
	if rep := r.run(); rep.Copied != 1 {
		t.Fatalf("first run copied %d, want 1", rep.Copied)
	}
	r.pop.SetMessages("u", [][]byte{a, b})
	r.state = filepath.Join(t.TempDir(), "new.db")
	if rep := r.run(); rep.Copied != 1 || rep.Present != 1 {
		t.Fatalf("with the state file lost: copied %d, present %d; want 1 and 1", rep.Copied, rep.Present)
	}
	r.wantStored(mungedAll([][]byte{a, b}))
}

// appendCut forwards loopback connections to Cyrus and resets the
// connection that carries a tagged "OK [APPENDUID" answer, instead of
// passing the answer on, until cuts answers were lost so: Cyrus has
// stored the message, the client never hears so.
type appendCut struct {
	upstream string
	ln       net.Listener
	mu       sync.Mutex
	cuts     int
	cut      int // answers lost
	conns    int // connections cut
}

func newAppendCut(t *testing.T, upstream string, cuts int) *appendCut {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &appendCut{upstream: upstream, ln: ln, cuts: cuts}
	t.Cleanup(func() { ln.Close() })
	go acceptLoop(ln, p.handle)
	return p
}

func (p *appendCut) handle(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		_, _ = io.Copy(up, c)
		up.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := up.Read(buf)
		if k := bytes.Count(buf[:n], []byte(" OK [APPENDUID ")); k > 0 && p.take(k) {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, as a cut line gives
			}
			return
		}
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// take counts k answers cut, unless cuts were cut already.
func (p *appendCut) take(k int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut >= p.cuts {
		return false
	}
	p.cut += k
	p.conns++
	return true
}

// count returns the answers lost and the connections cut so far.
func (p *appendCut) count() (answers, conns int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut, p.conns
}

// TestCyrusMungedCutAppend cuts the connection right after Cyrus stored
// a message, before the client reads the answer, for every APPEND: only
// the lookup before a retry can tell that a message landed. It finds each
// munged copy, and every message is there once.
func TestCyrusMungedCutAppend(t *testing.T) {
	cyrusModes(t, func(t *testing.T, alt bool) {
		msgs := eightBitMail()
		r := newCyrusRig(t, cyrustest.Options{AltNamespace: alt}, msgs)
		p := newAppendCut(t, r.srv.IMAPAddr, 1000)
		r.addr = p.ln.Addr().String()
		rep := r.run()
		// No APPEND answer reached the run: each copy was found by the
		// lookup before a retry.
		answers, conns := p.count()
		if answers == 0 || rep.Copied != len(msgs) {
			t.Fatalf("%d APPEND answers cut, copied %d; want some cut and %d copied", answers, rep.Copied, len(msgs))
		}
		t.Logf("%d connections cut, on %d APPEND answers (the APPENDs pipelined behind them were stored too)", conns, answers)
		r.wantStored(mungedAll(msgs))
	})
}

// storeThenStop stores each message in the target (unless lost), then
// ends the run as a kill between the APPEND and its commit would: the
// pending records stay for the next run to resolve.
type storeThenStop struct {
	target.Target
	stop context.CancelFunc
	lost bool // the APPENDs never reach the server
}

func (s storeThenStop) Append(ctx context.Context, folder string, m target.Message) (uint32, error) {
	if !s.lost {
		if _, err := s.Target.Append(context.WithoutCancel(ctx), folder, m); err != nil {
			return 0, err
		}
	}
	s.stop()
	return 0, context.Canceled
}

// TestCyrusMungedPendingRecovered: a run stopped after Cyrus stored
// messages and before their commits leaves pending records; the next run
// finds each munged copy and copies nothing again. With dedup: off the
// pending records are all that keeps a second copy away.
func TestCyrusMungedPendingRecovered(t *testing.T) {
	for _, dedup := range []migrate.Dedup{migrate.DedupAccount, migrate.DedupOff} {
		t.Run(string(dedup), func(t *testing.T) {
			msgs := eightBitMail()
			r := newCyrusRig(t, cyrustest.Options{}, msgs)
			r.opts.Dedup = dedup
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r.wrap = func(t target.Target) target.Target { return storeThenStop{Target: t, stop: cancel} }
			if _, err := r.runErr(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("stopped run: %v, want context.Canceled", err)
			}
			st, err := state.Open(r.state, state.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			pending, err := st.Pending()
			st.Close()
			if err != nil || len(pending) == 0 {
				t.Fatalf("pending records %v, %v: want some", pending, err)
			}
			stored := len(r.srv.Fetch(t, r.user.Name, ""))
			r.wrap = nil
			rep := r.run()
			if rep.Recovered != stored || rep.Copied != len(msgs)-stored {
				t.Fatalf("%d stored before the stop: recovered %d, copied %d; want %d and %d", stored, rep.Recovered,
					rep.Copied, stored, len(msgs)-stored)
			}
			t.Logf("%d pending records, %d stored, %d recovered", len(pending), stored, rep.Recovered)
			r.wantStored(mungedAll(msgs))
		})
	}
}

// TestCyrusMungedSharedFormPending: message a is copied; b, which Cyrus
// would store as the same bytes, is pending when a run stops before its
// APPEND reached Cyrus. The next run must not take a's copy for b's: it
// copies b.
func TestCyrusMungedSharedFormPending(t *testing.T) {
	all := eightBitMail()
	a, b := all[4], all[5]
	r := newCyrusRig(t, cyrustest.Options{}, [][]byte{a})
	if rep := r.run(); rep.Copied != 1 {
		t.Fatalf("first run copied %d, want 1", rep.Copied)
	}
	r.pop.SetMessages("u", [][]byte{a, b})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.wrap = func(t target.Target) target.Target { return storeThenStop{Target: t, stop: cancel, lost: true} }
	if _, err := r.runErr(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v, want context.Canceled", err)
	}
	r.wrap = nil
	if rep := r.run(); rep.Recovered != 0 || rep.Copied != 1 {
		t.Fatalf("recovered %d, copied %d; want 0 and 1: %+v", rep.Recovered, rep.Copied, rep)
	}
	r.wantStored(mungedAll([][]byte{a, b}))
}

// TestCyrus8bitSettings: with "munge8bit: no" Cyrus stores the mail byte
// for byte and verify says OK; with "reject8bit: yes" it refuses every
// message with an 8-bit header byte, and each is a failure with Cyrus's
// reason, never a silent skip.
func TestCyrus8bitSettings(t *testing.T) {
	msgs := eightBitMail()
	t.Run("munge8bit no", func(t *testing.T) {
		r := newCyrusRig(t, cyrustest.Options{Config: "munge8bit: no"}, msgs)
		if rep := r.run(); rep.Copied != len(msgs) {
			t.Fatalf("copied %d, want %d", rep.Copied, len(msgs))
		}
		r.wantStored(msgs)
		rep := r.verify()
		check(t, rep, migrate.FolderCheck{Expected: len(msgs), Present: len(msgs)})
		if !rep.OK() {
			t.Errorf("verify OK() = false, want true: %+v", rep)
		}
	})
	t.Run("reject8bit yes", func(t *testing.T) {
		r := newCyrusRig(t, cyrustest.Options{Config: "reject8bit: yes"}, msgs)
		rep, err := r.runErr(context.Background())
		if err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if rep.Copied != 1 || rep.Failed() != len(msgs)-1 {
			t.Fatalf("copied %d, failed %d; want 1 and %d", rep.Copied, rep.Failed(), len(msgs)-1)
		}
		for _, f := range rep.Failures {
			if !strings.Contains(f.Reason, "non-ASCII characters in headers") {
				t.Errorf("failure %+v, want Cyrus's reason", f)
			}
		}
		t.Logf("reason: %s", rep.Failures[0].Reason)
		r.wantStored(msgs[3:4])
	})
}
