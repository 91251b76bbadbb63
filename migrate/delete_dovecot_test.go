package migrate_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap"
)

// quitCutProxy forwards POP3 connections to upstream; while armed, a
// session that sent DELE is reset when the client sends QUIT, before the
// server sees it: a network cut at the worst moment for a deletion.
type quitCutProxy struct {
	upstream string
	ln       net.Listener
	armed    atomic.Bool
	cuts     atomic.Int32
}

func newQuitCutProxy(t *testing.T, upstream string) *quitCutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &quitCutProxy{upstream: upstream, ln: ln}
	t.Cleanup(func() { ln.Close() })
	go acceptLoop(ln, p.handle)
	return p
}

func (p *quitCutProxy) handle(c net.Conn) {
	u, reset, ok := dialUpstream(c, p.upstream)
	if !ok {
		return
	}
	defer reset()
	go func() { io.Copy(c, u); reset() }()
	r := bufio.NewReader(c)
	deleting := false
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(string(line)))
		deleting = deleting || strings.HasPrefix(cmd, "DELE ")
		if cmd == "QUIT" && deleting && p.armed.Load() {
			p.cuts.Add(1)
			return
		}
		if _, err := u.Write(line); err != nil {
			return
		}
	}
}

// TestDovecotCutBeforeQuit: Dovecot rolls back the DELEs of a session cut
// before QUIT; the run reports the failure, nothing is lost, and the next
// run deletes without copying anything again.
func TestDovecotCutBeforeQuit(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{
		{Name: "alice", Password: "pop-secret"}, {Name: "bob", Password: "imap-secret"}}})
	var seed [][]byte
	for i := range 120 {
		h := fmt.Sprintf("From: a@example.org\r\nSubject: quit %d\r\n", i)
		if i%11 != 0 {
			h += fmt.Sprintf("Message-ID: <quit%03d@example.org>\r\n", i)
		}
		seed = append(seed, []byte(h+"\r\n"+strings.Repeat(fmt.Sprintf("body %d\r\n", i), 1+i%40)))
	}
	dc.Seed(t, "alice", "INBOX", seed)
	proxy := newQuitCutProxy(t, dc.POP3Addr)
	proxy.armed.Store(true)
	statePath := filepath.Join(t.TempDir(), "state.db")

	rep, err := quitRun(t, dc, statePath, proxy.ln.Addr().String())
	if err == nil || rep.Copied != len(seed) || rep.Deleted != 0 {
		t.Fatalf("cut run: Run() = %v, copied %d deleted %d; want an error, %d copied, none deleted", err, rep.Copied, rep.Deleted, len(seed))
	}
	if proxy.cuts.Load() == 0 {
		t.Fatal("the proxy cut no QUIT")
	}
	if n := len(dc.Fetch(t, "alice", "INBOX")); n != len(seed) {
		t.Fatalf("Dovecot holds %d of %d messages after QUIT was cut: it did not roll back", n, len(seed))
	}

	proxy.armed.Store(false)
	rep, err = quitRun(t, dc, statePath, proxy.ln.Addr().String())
	if err != nil || rep.Copied != 0 || rep.Deleted != len(seed) {
		t.Fatalf("next run: Run() = %v, copied %d deleted %d; want nil, 0, %d", err, rep.Copied, rep.Deleted, len(seed))
	}
	if left := dc.Fetch(t, "alice", "INBOX"); len(left) != 0 {
		t.Fatalf("the maildrop still holds %d messages", len(left))
	}
	norm := func(b []byte) string { return string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))) }
	want := map[string]int{}
	for _, m := range seed {
		want[norm(m)]++
	}
	got := dc.Fetch(t, "bob", "INBOX")
	for _, m := range got {
		if want[norm(m.Body)] == 0 {
			t.Fatalf("the target holds a message twice or altered: %.80q", m.Body)
		}
		want[norm(m.Body)]--
	}
	if len(got) != len(seed) {
		t.Fatalf("the target holds %d messages, want %d", len(got), len(seed))
	}
}

func quitRun(t *testing.T, dc *dovecottest.Server, statePath, popAddr string) (*migrate.Report, error) {
	ctx := context.Background()
	st, err := state.Open(statePath, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tgt, err := imap.New(ctx, imap.Options{Addr: dc.IMAPAddr, TLS: imap.TLSNone, Username: "bob",
		Password: "imap-secret", Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	popOpts := pop3.Options{Addr: popAddr, TLS: pop3.TLSNone, Username: "alice", Password: "pop-secret", Timeout: 5 * time.Second}
	m := &migrate.Migrator{Target: tgt, State: st, Sources: []migrate.SourceSpec{{
		Name: "pop3://alice@test", Folder: "INBOX", Delete: &migrate.DeletePolicy{},
		Open: func(ctx context.Context) (source.Source, error) { return pop3.Dial(ctx, popOpts) },
	}}, Options: migrate.Options{Uploaders: tgt.MaxInFlight(), Settle: 300 * time.Millisecond,
		Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Reconnects: 2}}
	return m.Run(ctx)
}
