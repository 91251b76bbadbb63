package dovecottest_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// seedMsgs are three messages in CRLF: plain, one with lines starting with
// "." (dot-stuffed by POP3), and one with 8-bit bytes (Latin-1 and UTF-8).
var seedMsgs = [][]byte{
	[]byte("From: a@example.org\r\nTo: alice@example.org\r\nSubject: one\r\nMessage-ID: <1@example.org>\r\n\r\nfirst body\r\n"),
	[]byte("From: b@example.org\r\nSubject: two\r\nMessage-ID: <2@example.org>\r\n\r\n.hidden line\r\n..two dots\r\n.\r\nend\r\n"),
	[]byte("From: c@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <3@example.org>\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9 na\xefve \xc3\xa9t\xc3\xa9 \xff\x80\r\n"),
}

func TestStartTime(t *testing.T) {
	start := time.Now()
	s := dovecottest.Start(t, dovecottest.Options{})
	t.Logf("Start took %v (dir %s)", time.Since(start), s.Dir)
	if s.IMAPAddr == "" || s.IMAPSAddr == "" || s.POP3Addr == "" || s.POP3SAddr == "" {
		t.Fatalf("addresses = %q %q %q %q, want all set", s.IMAPAddr, s.IMAPSAddr, s.POP3Addr, s.POP3SAddr)
	}
}

func TestPOP3ExactBytes(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	s.Seed(t, "alice", "", seedMsgs)

	first := pop3Session(t, s.POP3Addr, "alice", "alice-secret")
	if first.stat != "+OK 3 "+strconv.Itoa(totalLen(seedMsgs)) {
		t.Errorf("STAT = %q, want +OK 3 %d", first.stat, totalLen(seedMsgs))
	}
	for i, want := range seedMsgs {
		if got := first.sizes[i]; got != len(want) {
			t.Errorf("LIST %d = %d octets, want %d", i+1, got, len(want))
		}
		if got := first.bodies[i]; !bytes.Equal(got, want) {
			t.Errorf("RETR %d =\n%q\nwant\n%q", i+1, got, want)
		}
	}
	if !bytes.Contains(first.raw[1], []byte("\r\n..hidden line\r\n...two dots\r\n..\r\nend\r\n.\r\n")) {
		t.Errorf("RETR 2 on the wire = %q, want the dot lines stuffed", first.raw[1])
	}
	second := pop3Session(t, s.POP3Addr, "alice", "alice-secret")
	if !slices.Equal(first.uidls, second.uidls) || len(first.uidls) != 3 {
		t.Errorf("UIDL = %q then %q, want 3 stable UIDLs", first.uidls, second.uidls)
	}
	if len(slices.Compact(slices.Clone(first.uidls))) != 3 {
		t.Errorf("UIDL = %q, want distinct", first.uidls)
	}
}

func TestTLSVerification(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	fromFile := x509.NewCertPool()
	if !fromFile.AppendCertsFromPEM(pem) {
		t.Fatalf("CAFile %s holds no certificate", s.CAFile)
	}
	for _, tc := range []struct {
		addr, greeting, serverName string
		pool                       *x509.CertPool
	}{
		{s.IMAPSAddr, "* OK", "localhost", s.CertPool},
		{s.IMAPSAddr, "* OK", "", fromFile}, // verified against the IP SAN
		{s.POP3SAddr, "+OK", "localhost", s.CertPool},
	} {
		conn, err := tls.Dial("tcp", tc.addr, &tls.Config{RootCAs: tc.pool, ServerName: tc.serverName})
		if err != nil {
			t.Fatalf("tls.Dial(%s, %q) = %v, want verified", tc.addr, tc.serverName, err)
		}
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.HasPrefix(line, tc.greeting) {
			t.Errorf("greeting on %s = %q, %v; want %q...", tc.addr, line, err, tc.greeting)
		}
	}

	_, err = tls.Dial("tcp", s.IMAPSAddr, &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("tls.Dial with an empty pool = %v, want x509.UnknownAuthorityError", err)
	}
	_, err = tls.Dial("tcp", s.POP3SAddr, &tls.Config{RootCAs: s.CertPool, ServerName: "mail.example.org"})
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Errorf("tls.Dial as mail.example.org = %v, want x509.HostnameError", err)
	}
}

func TestFetch(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	lf := []byte("From: d@example.org\nSubject: LF only\n\nline\n")
	s.Seed(t, "alice", "INBOX", seedMsgs)
	s.Seed(t, "alice", "", [][]byte{lf})
	s.Seed(t, "alice", "Archive/2024", seedMsgs[:2])

	want := append(slices.Clone(seedMsgs), lf)
	before := time.Now().Add(-time.Minute)
	got := s.Fetch(t, "alice", "")
	if len(got) != len(want) {
		t.Fatalf("Fetch(INBOX) = %d messages, want %d", len(got), len(want))
	}
	for i, m := range got {
		if m.UID != uint32(i+1) {
			t.Errorf("message %d: UID = %d, want %d", i, m.UID, i+1)
		}
		if !bytes.Equal(crlf(m.Body), crlf(want[i])) {
			t.Errorf("message %d: body =\n%q\nwant\n%q", i, m.Body, want[i])
		}
		if m.InternalDate.Before(before) || m.InternalDate.After(time.Now().Add(time.Minute)) {
			t.Errorf("message %d: INTERNALDATE = %v, want about now", i, m.InternalDate)
		}
		if slices.Contains(m.Flags, string(imap.FlagSeen)) {
			t.Errorf("message %d: flags = %q, want not \\Seen", i, m.Flags)
		}
	}
	if got := s.Fetch(t, "alice", "Archive/2024"); len(got) != 2 || !bytes.Equal(got[1].Body, seedMsgs[1]) {
		t.Errorf("Fetch(Archive/2024) = %d messages, want 2 ending with message 2", len(got))
	}
	if got, want := s.Folders(t, "alice"), []string{"Archive", "Archive/2024", "INBOX"}; !slices.Equal(got, want) {
		t.Errorf("Folders() = %q, want %q", got, want)
	}
}

func TestParallelServers(t *testing.T) {
	var (
		mu    sync.Mutex
		addrs []string
	)
	t.Cleanup(func() {
		if len(addrs) == 2 && addrs[0] == addrs[1] {
			t.Errorf("both servers on %s, want different ports", addrs[0])
		}
	})
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			user := fmt.Sprintf("user%d", i)
			s := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{{Name: user, Password: "pw" + user}}})
			mu.Lock()
			addrs = append(addrs, s.IMAPAddr)
			mu.Unlock()
			msg := fmt.Appendf(nil, "Subject: server %d\r\n\r\nhello %d\r\n", i, i)
			s.Seed(t, user, "", [][]byte{msg})
			got := s.Fetch(t, user, "")
			if len(got) != 1 || !bytes.Equal(got[0].Body, msg) {
				t.Errorf("Fetch() = %v, want one message %q", got, msg)
			}
			if sess := pop3Session(t, s.POP3Addr, user, "pw"+user); len(sess.bodies) != 1 || !bytes.Equal(sess.bodies[0], msg) {
				t.Errorf("POP3 RETR = %q, want %q", sess.bodies, msg)
			}
		})
	}
}

func TestCourierNamespace(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{Separator: ".", Prefix: "INBOX.", SpecialUse: true})
	s.Exec(t, "mailbox", "create", "-u", "alice", "INBOX.X")
	s.Exec(t, "mailbox", "create", "-u", "alice", "INBOX.Sent")
	s.Seed(t, "alice", "INBOX.Y.Z", seedMsgs[:1])
	if got, want := s.Folders(t, "alice"), []string{"INBOX", "INBOX.Sent", "INBOX.X", "INBOX.Y", "INBOX.Y.Z"}; !slices.Equal(got, want) {
		t.Errorf("Folders() = %q, want %q", got, want)
	}
	if got := s.Fetch(t, "alice", "INBOX.Y.Z"); len(got) != 1 || !bytes.Equal(got[0].Body, seedMsgs[0]) {
		t.Errorf("Fetch(INBOX.Y.Z) = %d messages, want message 1", len(got))
	}

	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", "alice-secret").Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "INBOX.Sent", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil || len(list) != 1 || !slices.Contains(list[0].Attrs, imap.MailboxAttrSent) {
		t.Errorf("LIST INBOX.Sent = %+v, %v; want \\Sent", list, err)
	}
}

func TestStartProcessStop(t *testing.T) {
	dovecottest.Need(t)
	s, err := dovecottest.StartProcess(dovecottest.Options{})
	if err != nil {
		t.Fatalf("StartProcess() = %v", err)
	}
	if out := s.Exec(t, "user", "alice"); !strings.Contains(out, "alice") {
		t.Errorf("doveadm user alice = %q, want alice's record", out)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop() = %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop() = %v, want nil", err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop, Stat(%s) = %v, want not exist", s.Dir, err)
	}
	if conn, err := net.DialTimeout("tcp", s.IMAPAddr, time.Second); err == nil {
		conn.Close()
		t.Errorf("after Stop, %s still accepts", s.IMAPAddr)
	}
}

func TestSeedMany(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	s := dovecottest.Start(t, dovecottest.Options{})
	const n = 2000
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "Message-ID: <%d@example.org>\r\nSubject: %d\r\n\r\n%s\r\n", i, i, strings.Repeat("x", i%300))
	}
	start := time.Now()
	s.Seed(t, "alice", "", msgs)
	t.Logf("Seed of %d messages took %v", n, time.Since(start))
	got := s.Fetch(t, "alice", "")
	if len(got) != n {
		t.Fatalf("Fetch() = %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if !bytes.Equal(m.Body, msgs[i]) {
			t.Fatalf("message UID %d = %q, want %q", m.UID, m.Body, msgs[i])
		}
	}
}

func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		s, err := dovecottest.StartProcess(dovecottest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}

func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

func totalLen(msgs [][]byte) (n int) {
	for _, m := range msgs {
		n += len(m)
	}
	return n
}

// pop3Result is what one POP3 session saw.
type pop3Result struct {
	stat   string
	sizes  []int
	uidls  []string
	raw    [][]byte // RETR responses as on the wire, after the +OK line
	bodies [][]byte // the same, dot-unstuffed, without the final "."
}

// pop3Session logs in with USER/PASS, runs STAT, LIST, UIDL and RETR for
// every message, and QUITs, reading the bytes exactly as sent.
func pop3Session(t *testing.T, addr, user, pass string) pop3Result {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	cmd := func(line string, multi bool) (string, []byte) {
		t.Helper()
		if line != "" {
			fmt.Fprintf(conn, "%s\r\n", line)
		}
		status, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "+OK") || !strings.HasSuffix(status, "\r\n") {
			t.Fatalf("POP3 %q = %q, %v; want +OK...CRLF", line, status, err)
		}
		var data []byte
		for multi {
			l, err := r.ReadBytes('\n')
			if err != nil || !bytes.HasSuffix(l, []byte("\r\n")) {
				t.Fatalf("POP3 %q: line %q, %v; want CRLF", line, l, err)
			}
			data = append(data, l...)
			multi = string(l) != ".\r\n"
		}
		return strings.TrimSuffix(status, "\r\n"), data
	}
	var res pop3Result
	cmd("", false)
	cmd("USER "+user, false)
	cmd("PASS "+pass, false)
	res.stat, _ = cmd("STAT", false)
	_, list := cmd("LIST", true)
	for _, l := range listLines(list) {
		var n, size int
		fmt.Sscanf(l, "%d %d", &n, &size)
		res.sizes = append(res.sizes, size)
	}
	_, uidl := cmd("UIDL", true)
	for _, l := range listLines(uidl) {
		res.uidls = append(res.uidls, l[strings.IndexByte(l, ' ')+1:])
	}
	for i := range res.sizes {
		_, raw := cmd(fmt.Sprint("RETR ", i+1), true)
		res.raw = append(res.raw, raw)
		res.bodies = append(res.bodies, unstuff(raw))
	}
	cmd("QUIT", false)
	return res
}

func listLines(data []byte) []string {
	lines := strings.Split(strings.TrimSuffix(string(data), ".\r\n"), "\r\n")
	return lines[:len(lines)-1]
}

// unstuff removes the final ".\r\n" and one leading dot of each line.
func unstuff(raw []byte) []byte {
	raw = bytes.TrimSuffix(raw, []byte(".\r\n"))
	var out []byte
	for _, l := range bytes.SplitAfter(raw, []byte("\r\n")) {
		out = append(out, bytes.TrimPrefix(l, []byte("."))...)
	}
	return out
}

func TestMasterUsers(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{MasterUsers: []dovecottest.User{{Name: "admin", Password: "admin-secret"}}})
	for _, tc := range []struct {
		user, pass string
		ok         bool
	}{
		{"alice", "alice-secret", true},
		{"alice*admin", "admin-secret", true},
		{"alice*admin", "alice-secret", false},
		{"nobody*admin", "admin-secret", false},
		{"admin", "admin-secret", false},
	} {
		c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Login(tc.user, tc.pass).Wait()
		if (err == nil) != tc.ok {
			t.Errorf("LOGIN %s: err = %v, want ok %v", tc.user, err, tc.ok)
		}
		c.Close()
	}
}
