package popa3dtest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/nstest"
	"github.com/mailferry/mailferry/internal/popa3dtest"
	"github.com/mailferry/mailferry/internal/servertest"
)

var (
	m1 = []byte("From: a@example.org\r\nTo: alice@example.org\r\nSubject: one\r\nMessage-ID: <1@example.org>\r\n\r\nfirst body\r\n")
	m2 = []byte("From: b@example.org\r\nSubject: two\r\nMessage-ID: <2@example.org>\r\n\r\n.hidden line\r\n..two dots\r\n.\r\nend\r\n")
)

func TestServer(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := popa3dtest.Start(t, popa3dtest.Options{
		Users: []popa3dtest.User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}}})
	t.Logf("Start took %v", time.Since(start))

	p := dial(t, s.POP3Addr)
	p.ok("USER alice")
	p.ok("PASS alice-pw")
	if line := p.cmd("CAPA"); !strings.HasPrefix(line, "-ERR") {
		t.Errorf("CAPA = %q, want -ERR (popa3d has none)", line)
	}
	if line := p.ok("STAT"); line != "+OK 0 0" {
		t.Errorf("STAT of an empty maildrop = %q, want +OK 0 0", line)
	}
	p.ok("QUIT")

	s.Seed(t, "alice", [][]byte{m1, m2})
	msgs, err := servertest.POP3Fetch(s.POP3Addr, "alice", "alice-pw")
	if err != nil {
		t.Fatalf("POP3: %v", err)
	}
	if len(msgs) != 2 || !bytes.Equal(msgs[0].Body, m1) || !bytes.Equal(msgs[1].Body, m2) ||
		msgs[0].Size != len(m1) || msgs[1].Size != len(m2) || msgs[0].UIDL == "" || msgs[0].UIDL == msgs[1].UIDL {
		t.Errorf("maildrop = %+v, want m1 then m2, exact, with their sizes and distinct UIDLs", msgs)
	}
	want, err := popa3dtest.Mbox([][]byte{m1, m2})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Maildrop(t, "alice"); !bytes.Equal(got, want) {
		t.Errorf("maildrop file = %q, want %q", got, want)
	}

	// A deletion shows in the file.
	p = dial(t, s.POP3Addr)
	p.ok("USER alice")
	p.ok("PASS alice-pw")
	p.ok("DELE 1")
	p.ok("QUIT")
	want, _ = popa3dtest.Mbox([][]byte{m2})
	if got := s.Maildrop(t, "alice"); !bytes.Equal(got, want) {
		t.Errorf("maildrop after DELE 1 = %q, want %q", got, want)
	}
	if got, err := servertest.POP3Fetch(s.POP3Addr, "bob", "bob-pw"); err != nil || len(got) != 0 {
		t.Errorf("bob's maildrop = %d messages, %v; want none", len(got), err)
	}
	if _, err := servertest.POP3Fetch(s.POP3Addr, "alice", "wrong"); err == nil {
		t.Errorf("login with a wrong password succeeded")
	}
	checkStop(t, s)
}

// TestSharedUIDL pins the popa3d fact the package doc states: messages
// without Date, Received and Message-ID share one UIDL, whatever their
// bodies and other fields; a Message-ID tells them apart.
func TestSharedUIDL(t *testing.T) {
	t.Parallel()
	s := popa3dtest.Start(t, popa3dtest.Options{})
	s.Seed(t, "alice", [][]byte{
		[]byte("From: x@example.org\r\nSubject: one\r\n\r\nfirst\r\n"),
		[]byte("From: y@example.org\r\nSubject: two\r\n\r\nsecond\r\n"),
		[]byte("From: y@example.org\r\nSubject: two\r\nMessage-ID: <3@example.org>\r\n\r\nsecond\r\n"),
	})
	msgs, err := servertest.POP3Fetch(s.POP3Addr, "alice", "alice-secret")
	if err != nil {
		t.Fatalf("POP3: %v", err)
	}
	if len(msgs) != 3 || msgs[0].UIDL != msgs[1].UIDL || msgs[1].UIDL == msgs[2].UIDL {
		t.Errorf("UIDLs = %+v, want the first two equal and the third different", msgs)
	}
}

func TestSeedRefuses(t *testing.T) {
	for _, msg := range []string{"Subject: x\r\n\r\nno line end", "Subject: x\r\n\r\nFrom here\r\n", "From x\r\n\r\n"} {
		if _, err := popa3dtest.Mbox([][]byte{[]byte(msg)}); err == nil {
			t.Errorf("Mbox(%q) succeeded, want an error", msg)
		}
	}
}

// checkStop holds a logged-in session (so that a popa3d runs), then stops
// the server and checks that none of its processes is left.
func checkStop(t *testing.T, s *popa3dtest.Server) {
	p := dial(t, s.POP3Addr)
	p.ok("USER alice")
	p.ok("PASS alice-pw")
	procs := s.Processes()
	if !slices.ContainsFunc(procs, func(p nstest.Proc) bool { return p.Comm == "popa3d" }) {
		t.Fatalf("processes = %v, want a popa3d", procs)
	}
	nstest.CheckStop(t, s, procs, s.Dir)
	if c, err := net.Dial("tcp", s.POP3Addr); err == nil {
		c.Close()
		t.Errorf("after Stop, %s still accepts connections", s.POP3Addr)
	}
}

type pop3 struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *pop3 {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	p := &pop3{t: t, conn: conn, r: bufio.NewReader(conn)}
	if line := p.read(); !strings.HasPrefix(line, "+OK") {
		t.Fatalf("greeting = %q", line)
	}
	return p
}

func (p *pop3) read() string {
	line, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(line, "\r\n")
}

func (p *pop3) cmd(c string) string {
	fmt.Fprintf(p.conn, "%s\r\n", c)
	return p.read()
}

func (p *pop3) ok(c string) string {
	line := p.cmd(c)
	if !strings.HasPrefix(line, "+OK") {
		p.t.Fatalf("%s: %q", strings.Fields(c)[0], line)
	}
	return line
}
