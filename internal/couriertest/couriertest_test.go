package couriertest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/couriertest"
	"github.com/mailferry/mailferry/internal/nstest"
	"github.com/mailferry/mailferry/internal/servertest"
)

// Maildir files hold LF line ends; Courier serves them with CRLF.
var (
	m1 = []byte("From: a@example.org\nTo: alice@example.org\nSubject: one\nMessage-ID: <1@example.org>\n\nfirst body\n")
	m2 = []byte("From: b@example.org\nSubject: two\nMessage-ID: <2@example.org>\n\n.hidden line\n..two dots\n.\nend\n")
)

func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

func TestServer(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := couriertest.Start(t, couriertest.Options{
		Users: []couriertest.User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}}})
	t.Logf("Start took %v", time.Since(start))
	if s.Separator != "." || s.Prefix != "INBOX." {
		t.Fatalf("Separator, Prefix = %q, %q; want \".\", \"INBOX.\"", s.Separator, s.Prefix)
	}
	if got := rawNamespace(t, s.IMAPAddr, "alice", "alice-pw"); got != `(("INBOX." "."))` {
		t.Errorf("personal NAMESPACE = %s, want ((\"INBOX.\" \".\"))", got)
	}

	s.Seed(t, "alice", "", [][]byte{m1, m2})
	stored := s.Maildir(t, "alice", "")
	if len(stored) != 2 || !bytes.Equal(stored[0].Body, m1) || !bytes.Equal(stored[1].Body, m2) || !stored[0].New {
		t.Fatalf("Maildir after Seed = %+v, want m1, m2 in new/", stored)
	}
	pop, err := servertest.POP3Fetch(s.POP3Addr, "alice", "alice-pw")
	if err != nil {
		t.Fatalf("POP3: %v", err)
	}
	if len(pop) != 2 || !bytes.Equal(pop[0].Body, crlf(m1)) || !bytes.Equal(pop[1].Body, crlf(m2)) ||
		pop[0].UIDL == "" || pop[0].UIDL == pop[1].UIDL {
		t.Errorf("POP3 maildrop = %+v, want m1 then m2 with CRLF and distinct UIDLs", pop)
	}
	if got := s.Fetch(t, "alice", ""); len(got) != 2 || !bytes.Equal(got[0].Body, crlf(m1)) || !bytes.Equal(got[1].Body, crlf(m2)) {
		t.Errorf("IMAP INBOX = %q, want m1 then m2 with CRLF", bodies(got))
	}

	folder := "INBOX.Archive.2024"
	s.Seed(t, "alice", folder, [][]byte{m2})
	if got := s.Fetch(t, "alice", folder); len(got) != 1 || !bytes.Equal(got[0].Body, crlf(m2)) {
		t.Errorf("IMAP %s = %q, want m2 with CRLF", folder, bodies(got))
	}
	if got := s.Folders(t, "alice"); !slices.Contains(got, folder) {
		t.Errorf("Folders = %q, want %q among them", got, folder)
	}
	// What a client APPENDs lands in the Maildir, LF for CRLF.
	if err := servertest.Append(s.IMAPAddr, "bob", "bob-pw", "INBOX.Sent", [][]byte{crlf(m1)}); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	if got := s.Maildir(t, "bob", "INBOX.Sent"); len(got) != 1 || !bytes.Equal(got[0].Body, m1) {
		t.Errorf("bob's Sent Maildir = %+v, want m1 with LF", got)
	}
	if got := s.Fetch(t, "bob", ""); len(got) != 0 {
		t.Errorf("bob's INBOX = %d messages, want none", len(got))
	}
	if _, err := servertest.POP3Fetch(s.POP3Addr, "alice", "wrong"); err == nil {
		t.Errorf("POP3 login with a wrong password succeeded")
	}
	checkStop(t, s)
}

// TestCRLFOverPOP3 pins the courier-pop quirk the package doc states: a
// Maildir file with CR LF line ends is served with CR CR LF.
func TestCRLFOverPOP3(t *testing.T) {
	t.Parallel()
	s := couriertest.Start(t, couriertest.Options{})
	s.Seed(t, "alice", "", [][]byte{crlf(m1)})
	pop, err := servertest.POP3Fetch(s.POP3Addr, "alice", "alice-secret")
	if err != nil {
		t.Fatalf("POP3: %v", err)
	}
	want := bytes.ReplaceAll(m1, []byte("\n"), []byte("\r\r\n"))
	if len(pop) != 1 || !bytes.Equal(pop[0].Body, want) {
		t.Errorf("RETR = %q, want %q", bodiesPOP(pop), want)
	}
}

// checkStop holds a logged-in IMAP session (so that an imapd runs), then
// stops the server and checks that none of its processes is left.
func checkStop(t *testing.T, s *couriertest.Server) {
	c, err := servertest.Login(s.IMAPAddr, "alice", "alice-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	procs := s.Processes()
	for _, comm := range []string{"authdaemond", "couriertcpd", "imapd", "gam_server"} {
		if !slices.ContainsFunc(procs, func(p nstest.Proc) bool { return p.Comm == comm }) {
			t.Fatalf("processes = %v, want a %s among them", procs, comm)
		}
	}
	nstest.CheckStop(t, s, procs, s.Dir)
}

// rawNamespace logs in with raw IMAP lines and returns the personal part
// of the NAMESPACE answer.
func rawNamespace(t *testing.T, addr, user, pass string) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	var untagged []string
	read := func(tag string) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			line = strings.TrimRight(line, "\r\n")
			if tag == "" || strings.HasPrefix(line, tag+" ") {
				if tag != "" && !strings.HasPrefix(line, tag+" OK") {
					t.Fatalf("%s: %q", tag, line)
				}
				return
			}
			untagged = append(untagged, line)
		}
	}
	read("")
	fmt.Fprintf(conn, "a LOGIN %s %s\r\n", user, pass)
	read("a")
	fmt.Fprintf(conn, "b NAMESPACE\r\n")
	read("b")
	fmt.Fprintf(conn, "c LOGOUT\r\n")
	for _, l := range untagged {
		if rest, ok := strings.CutPrefix(l, "* NAMESPACE "); ok {
			// (("INBOX." ".")) NIL (("#shared." "."))
			if i := strings.Index(rest, ")) "); i >= 0 {
				return rest[:i+2]
			}
			return rest
		}
	}
	t.Fatalf("no NAMESPACE answer in %q", untagged)
	return ""
}

func bodies(msgs []servertest.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	return out
}

func bodiesPOP(msgs []servertest.POP3Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	return out
}
