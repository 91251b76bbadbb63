package cyrustest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/internal/nstest"
	"github.com/mailferry/mailferry/internal/servertest"
)

// plain is a message Cyrus stores unchanged: CRLF, ASCII, a dot line.
var plain = []byte("From: a@example.org\r\nTo: alice@example.org\r\nSubject: one\r\nMessage-ID: <1@example.org>\r\n\r\nfirst body\r\n.hidden line\r\n")

func TestServer(t *testing.T) {
	for _, alt := range []bool{false, true} {
		t.Run(fmt.Sprintf("AltNamespace=%v", alt), func(t *testing.T) {
			t.Parallel()
			testServer(t, alt)
		})
	}
}

func testServer(t *testing.T, alt bool) {
	start := time.Now()
	s := cyrustest.Start(t, cyrustest.Options{AltNamespace: alt,
		Users: []cyrustest.User{{Name: "alice", Password: "alice-pw"}, {Name: "bob", Password: "bob-pw"}}})
	t.Logf("Start took %v", time.Since(start))
	wantSep, wantPrefix := ".", "INBOX."
	if alt {
		wantSep, wantPrefix = "/", ""
	}
	if s.Separator != wantSep || s.Prefix != wantPrefix {
		t.Fatalf("Separator, Prefix = %q, %q; want %q, %q", s.Separator, s.Prefix, wantSep, wantPrefix)
	}
	if got := rawDelimiter(t, s.IMAPAddr, "alice", "alice-pw"); got != wantSep {
		t.Errorf("LIST \"\" \"\" delimiter = %q, want %q", got, wantSep)
	}

	folder := s.Prefix + "Archive" + s.Separator + "2024"
	s.Seed(t, "alice", "", [][]byte{plain})
	s.Seed(t, "alice", folder, [][]byte{plain, plain})
	if got := s.Fetch(t, "alice", ""); len(got) != 1 || !bytes.Equal(got[0].Body, plain) {
		t.Errorf("INBOX = %d messages %q, want 1: %q", len(got), bodies(got), plain)
	}
	if got := s.Fetch(t, "alice", folder); len(got) != 2 || !bytes.Equal(got[1].Body, plain) {
		t.Errorf("%s = %d messages %q, want 2: %q", folder, len(got), bodies(got), plain)
	}
	if got := s.Folders(t, "alice"); !contains(got, folder) || !contains(got, "INBOX") {
		t.Errorf("Folders = %q, want INBOX and %q", got, folder)
	}
	if got := s.Fetch(t, "bob", ""); len(got) != 0 {
		t.Errorf("bob's INBOX = %d messages, want none", len(got))
	}
	pop, err := servertest.POP3Fetch(s.POP3Addr, "alice", "alice-pw")
	if err != nil {
		t.Fatalf("POP3: %v", err)
	}
	if len(pop) != 1 || !bytes.Equal(pop[0].Body, plain) || pop[0].Size != len(plain) || pop[0].UIDL == "" {
		t.Errorf("POP3 maildrop = %+v, want the one message, %d octets, with a UIDL", pop, len(plain))
	}
	if alt { // once: Cyrus waits seconds before it answers a failed login
		if _, err := servertest.POP3Fetch(s.POP3Addr, "alice", "wrong"); err == nil {
			t.Errorf("POP3 login with a wrong password succeeded")
		}
	}
	checkStop(t, s)
}

// TestMunge8bit pins the Cyrus default that issue 8 is about: raw 8-bit
// header bytes are stored as 'X', the body is kept.
func TestMunge8bit(t *testing.T) {
	t.Parallel()
	s := cyrustest.Start(t, cyrustest.Options{})
	msg := []byte("From: a@example.org\r\nSubject: caf\xc3\xa9\r\nMessage-ID: <8@example.org>\r\n\r\nna\xc3\xafve\r\n")
	want := []byte("From: a@example.org\r\nSubject: cafXX\r\nMessage-ID: <8@example.org>\r\n\r\nna\xc3\xafve\r\n")
	s.Seed(t, "alice", "", [][]byte{msg})
	if got := s.Fetch(t, "alice", ""); len(got) != 1 || !bytes.Equal(got[0].Body, want) {
		t.Errorf("stored %q, want %q", bodies(got), want)
	}
}

// checkStop holds an IMAP session open (so that an imapd child runs), then
// stops the server and checks that none of its processes is left.
func checkStop(t *testing.T, s *cyrustest.Server) {
	conn, err := net.Dial("tcp", s.IMAPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(line, "* OK") {
		t.Fatalf("greeting %q, %v", line, err)
	}
	procs := s.Processes()
	if !hasComm(procs, "master") || !hasComm(procs, "imapd") {
		t.Fatalf("processes = %v, want master and an imapd", procs)
	}
	nstest.CheckStop(t, s, procs, s.Dir)
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// rawDelimiter logs in with raw IMAP lines and returns the delimiter of
// LIST "" "".
func rawDelimiter(t *testing.T, addr, user, pass string) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	read := func(tag string) []string {
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v after %q", err, lines)
			}
			lines = append(lines, strings.TrimRight(line, "\r\n"))
			if tag == "" || strings.HasPrefix(line, tag+" ") {
				if tag != "" && !strings.HasPrefix(line, tag+" OK") {
					t.Fatalf("%s failed: %q", tag, lines)
				}
				return lines
			}
		}
	}
	read("")
	fmt.Fprintf(conn, "a LOGIN %s %s\r\n", user, pass)
	read("a")
	fmt.Fprintf(conn, "b LIST \"\" \"\"\r\n")
	var sep string
	for _, l := range read("b") {
		// * LIST (\Noselect) "." ""
		if f := strings.Fields(l); len(f) >= 4 && f[1] == "LIST" {
			sep = strings.Trim(f[len(f)-2], `"`)
		}
	}
	fmt.Fprintf(conn, "c LOGOUT\r\n")
	return sep
}

func bodies(msgs []servertest.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasComm(procs []nstest.Proc, comm string) bool {
	for _, p := range procs {
		if p.Comm == comm {
			return true
		}
	}
	return false
}
