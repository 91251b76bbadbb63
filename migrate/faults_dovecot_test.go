package migrate_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap"
)

// cutProxy forwards loopback connections to upstream and resets each of
// the first cuts connections after a random number of bytes from the
// client, in the middle of whatever was being sent (a literal, a RETR).
type cutProxy struct {
	upstream string
	ln       net.Listener
	mu       sync.Mutex
	rng      *rand.Rand
	cuts     int // connections still to cut
	cut      int // connections cut so far
	maxBytes int
	// fromServer counts the server's bytes instead of the client's
	// (POP3: the messages flow that way).
	fromServer bool
	// stall, instead of resetting, stops forwarding and holds the
	// connection open: a server that hangs.
	stall bool
	done  chan struct{} // closed at cleanup: stalled connections end
}

func newCutProxy(t *testing.T, upstream string, cuts, maxBytes int, fromServer, stall bool, seed uint64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{upstream: upstream, ln: ln, rng: rand.New(rand.NewPCG(seed, 7)), cuts: cuts, maxBytes: maxBytes,
		fromServer: fromServer, stall: stall, done: make(chan struct{})}
	t.Cleanup(func() { ln.Close(); close(p.done) })
	go acceptLoop(ln, p.handle)
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// acceptLoop hands each connection ln accepts to handle, in its own
// goroutine, until ln is closed.
func acceptLoop(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go handle(c)
	}
}

// budget returns how many client bytes this connection may carry, or -1.
func (p *cutProxy) budget() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cuts == 0 {
		return -1
	}
	p.cuts--
	return 200 + p.rng.IntN(p.maxBytes)
}

// cutCount is how many connections were cut so far.
func (p *cutProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

func (p *cutProxy) counted() {
	p.mu.Lock()
	p.cut++
	p.mu.Unlock()
}

// dialUpstream connects a proxied client c to upstream and returns the
// connection and a reset that aborts both (RST, not FIN); ok is false,
// with c closed, when upstream does not answer.
func dialUpstream(c net.Conn, upstream string) (u net.Conn, reset func(), ok bool) {
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		c.Close()
		return nil, nil, false
	}
	return u, func() {
		for _, x := range []net.Conn{c, u} {
			x.(*net.TCPConn).SetLinger(0)
			x.Close()
		}
	}, true
}

func (p *cutProxy) handle(c net.Conn) {
	u, reset, ok := dialUpstream(c, p.upstream)
	if !ok {
		return
	}
	src, dst, other, otherDst := c, u, u, c // the watched direction, and the other
	if p.fromServer {
		src, dst, other, otherDst = u, c, c, u
	}
	go func() { io.Copy(otherDst, other); reset() }()
	if n := p.budget(); n >= 0 {
		if _, err := io.CopyN(dst, src, int64(n)); err == nil {
			p.counted() // the budget ran out mid-stream: cut here
			if p.stall {
				<-p.done // hang: forward nothing more, close nothing
			}
		}
		reset()
		return
	}
	io.Copy(dst, src)
	reset()
}

// TestDovecotNetworkCuts resets POP3 and IMAP connections at random byte
// counts, mid-literal and mid-RETR, or stalls them there (the timeouts
// must notice), and checks that the runs end with each message in the
// target exactly once, byte for byte.
func TestDovecotNetworkCuts(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{
		{Name: "alice", Password: "pop-secret"}, {Name: "bob", Password: "imap-secret"}}})
	rng := rand.New(rand.NewPCG(3, 4))
	var seed [][]byte
	for i := range 300 {
		id := fmt.Sprintf("<cut%04d@example.org>", i)
		if i%23 == 0 {
			id = "" // keyed by content
		}
		h := "From: a@example.org\r\nSubject: cut " + fmt.Sprint(i) + "\r\n"
		if id != "" {
			h += "Message-ID: " + id + "\r\n"
		}
		body := strings.Repeat(fmt.Sprintf("%d: some text of the message\r\n", i), 50+rng.IntN(1500))
		seed = append(seed, []byte(h+"\r\n"+body))
	}
	dc.Seed(t, "alice", "INBOX", seed)
	for _, stall := range []bool{false, true} {
		t.Run(fmt.Sprintf("stall=%v", stall), func(t *testing.T) { networkFaults(t, dc, seed, stall) })
	}
}

// networkFaults migrates alice's maildrop into bob's INBOX through faulty
// proxies, then checks the target and empties it.
func networkFaults(t *testing.T, dc *dovecottest.Server, seed [][]byte, stall bool) {
	popCut := newCutProxy(t, dc.POP3Addr, 6, 2<<20, true, stall, 1)
	imapCut := newCutProxy(t, dc.IMAPAddr, 10, 1<<20, false, stall, 2)
	statePath := filepath.Join(t.TempDir(), "state.db")
	opts := migrate.Options{Settle: 300 * time.Millisecond, Backoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, MaxAttempts: 8, Reconnects: 20}
	var err error
	for run := 0; run < 5; run++ {
		if err = cutRun(t, dc, statePath, popCut.addr(), imapCut.addr(), opts); err == nil {
			break
		}
		t.Logf("run %d: %v", run, err)
	}
	if err != nil {
		t.Fatalf("no run completed: %v", err)
	}
	pc, ic := popCut.cutCount(), imapCut.cutCount()
	if pc == 0 || ic == 0 {
		t.Fatalf("cut %d POP3 and %d IMAP connections, want both > 0", pc, ic)
	}
	t.Logf("cut %d POP3 and %d IMAP connections", pc, ic)
	var got [][]byte
	for _, m := range dc.Fetch(t, "bob", "INBOX") {
		got = append(got, m.Body)
	}
	norm := func(b []byte) string { return string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))) }
	left := map[string]int{}
	for _, m := range seed {
		left[norm(m)]++
	}
	for _, g := range got {
		if left[norm(g)] == 0 {
			t.Fatalf("target holds a message twice or altered: %.80q", g)
		}
		left[norm(g)]--
	}
	if len(got) != len(seed) {
		t.Fatalf("target holds %d messages, want %d", len(got), len(seed))
	}
	dc.Exec(t, "expunge", "-u", "bob", "mailbox", "INBOX", "all")
}

func cutRun(t *testing.T, dc *dovecottest.Server, statePath, popAddr, imapAddr string, opts migrate.Options) error {
	ctx := context.Background()
	st, err := state.Open(statePath, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tgt, err := imap.New(ctx, imap.Options{Addr: imapAddr, TLS: imap.TLSNone, Username: "bob",
		Password: "imap-secret", Connections: 4, Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer tgt.Close()
	opts.Uploaders = tgt.MaxInFlight()
	popOpts := pop3.Options{Addr: popAddr, TLS: pop3.TLSNone, Username: "alice", Password: "pop-secret", Timeout: 2 * time.Second}
	m := &migrate.Migrator{Target: tgt, State: st, Options: opts, Sources: []migrate.SourceSpec{{
		Name: "pop3://alice@test", Folder: "INBOX",
		Open: func(ctx context.Context) (source.Source, error) {
			s, err := pop3.Dial(ctx, popOpts)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}}}
	rep, err := m.Run(ctx)
	if err == nil && rep.Failed() > 0 {
		err = fmt.Errorf("%d failures: %v", rep.Failed(), rep.Failures)
	}
	return err
}
