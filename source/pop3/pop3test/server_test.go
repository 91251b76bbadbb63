package pop3test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// conv is a raw client for checking the server on the wire.
type conv struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func connect(t *testing.T, srv *Server) *conv {
	t.Helper()
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	cv := &conv{t: t, c: c, r: bufio.NewReader(c)}
	cv.expect("+OK")
	return cv
}

// send writes a command and returns the first line of the reply.
func (cv *conv) send(cmd string) string {
	cv.t.Helper()
	fmt.Fprintf(cv.c, "%s\r\n", cmd)
	return cv.line()
}

func (cv *conv) line() string {
	cv.t.Helper()
	l, err := cv.r.ReadString('\n')
	if err != nil {
		cv.t.Fatalf("reading a reply: %v", err)
	}
	return l
}

func (cv *conv) expect(prefix string) {
	cv.t.Helper()
	if l := cv.line(); !strings.HasPrefix(l, prefix) {
		cv.t.Fatalf("reply %q, want %q", l, prefix)
	}
}

// data reads a multi-line body raw, terminator included.
func (cv *conv) data() string {
	cv.t.Helper()
	var b strings.Builder
	for {
		l := cv.line()
		b.WriteString(l)
		if l == ".\r\n" {
			return b.String()
		}
	}
}

func newTestServer(t *testing.T, opts Options) *Server {
	if opts.Users == nil {
		opts.Users = map[string]string{"bob": "pw"}
	}
	return NewServer(t, opts)
}

func TestWireFormat(t *testing.T) {
	msg := []byte("Subject: x\r\n\r\n.\r\n..a\r\nb\n.c")
	srv := newTestServer(t, Options{Messages: map[string][][]byte{"bob": {msg}}})
	cv := connect(t, srv)
	if l := cv.send("USER bob"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("USER: %q", l)
	}
	if l := cv.send("PASS pw"); l != "+OK 1 messages\r\n" {
		t.Fatalf("PASS: %q, want +OK 1 messages", l)
	}
	cv.send("LIST")
	if got, want := cv.data(), fmt.Sprintf("1 %d\r\n.\r\n", len(msg)); got != want {
		t.Errorf("LIST data = %q, want %q", got, want)
	}
	cv.send("UIDL")
	if got, want := cv.data(), "1 "+UIDL(msg, 0)+"\r\n.\r\n"; got != want {
		t.Errorf("UIDL data = %q, want %q", got, want)
	}
	cv.send("RETR 1")
	if got, want := cv.data(), "Subject: x\r\n\r\n..\r\n...a\r\nb\n..c\r\n.\r\n"; got != want {
		t.Errorf("RETR data = %q, want %q", got, want)
	}
	if l := cv.send("RETR 2"); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("RETR 2 = %q, want -ERR", l)
	}
}

func TestAuthPlainLockAndUpdate(t *testing.T) {
	msgs := SampleMessages(3)
	srv := newTestServer(t, Options{Messages: map[string][][]byte{"bob": msgs}})
	a := connect(t, srv)
	ir := base64.StdEncoding.EncodeToString([]byte("\x00bob\x00pw"))
	if l := a.send("AUTH PLAIN " + ir); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("AUTH PLAIN with initial response = %q, want +OK", l)
	}
	b := connect(t, srv)
	if l := b.send("AUTH PLAIN"); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("AUTH PLAIN = %q, want a continuation", l)
	}
	if l := b.send(ir); !strings.HasPrefix(l, "-ERR [IN-USE]") {
		t.Errorf("second session login = %q, want -ERR [IN-USE]", l)
	}
	a.expectAfter("DELE 2", "+OK")
	a.expectAfter("QUIT", "+OK")
	if got := len(srv.Messages("bob")); got != 2 {
		t.Errorf("maildrop holds %d messages after DELE and QUIT, want 2", got)
	}
	c := connect(t, srv)
	c.send("USER bob")
	if l := c.send("PASS pw"); l != "+OK 2 messages\r\n" {
		t.Errorf("login after QUIT = %q, want +OK 2 messages", l)
	}
	if n := srv.Count("auth"); n != 2 {
		t.Errorf("Count(auth) = %d, want 2", n)
	}
}

func (cv *conv) expectAfter(cmd, prefix string) {
	cv.t.Helper()
	if l := cv.send(cmd); !strings.HasPrefix(l, prefix) {
		cv.t.Fatalf("%s = %q, want %q", cmd, l, prefix)
	}
}

func TestWrongPasswordAndFault(t *testing.T) {
	srv := newTestServer(t, Options{Fault: func(cmd, _ string) (string, bool) {
		return "-ERR [SYS/TEMP] busy", cmd == "NOOP"
	}})
	cv := connect(t, srv)
	cv.send("USER bob")
	if l := cv.send("PASS nope"); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Errorf("wrong password = %q, want -ERR [AUTH]", l)
	}
	if l := cv.send("NOOP"); l != "-ERR [SYS/TEMP] busy\r\n" {
		t.Errorf("faulted NOOP = %q, want the injected reply", l)
	}
}

func TestPipelinedCommandsAnsweredInOrder(t *testing.T) {
	msgs := SampleMessages(3)
	srv := newTestServer(t, Options{Messages: map[string][][]byte{"bob": msgs}, Latency: 100 * time.Millisecond})
	cv := connect(t, srv)
	cv.send("USER bob")
	cv.send("PASS pw")
	fmt.Fprint(cv.c, "RETR 1\r\nRETR 2\r\nRETR 3\r\n")
	for i := range msgs {
		cv.expect("+OK")
		var want bytes.Buffer
		writeStuffedTo(&want, msgs[i])
		if got := cv.data(); got != want.String()+".\r\n" {
			t.Errorf("message %d: got %d bytes, want %d", i+1, len(got), want.Len()+3)
		}
	}
	if q := srv.MaxQueued(); q < 1 {
		t.Errorf("MaxQueued() = %d, want >= 1", q)
	}
}

func writeStuffedTo(b *bytes.Buffer, msg []byte) {
	w := bufio.NewWriter(b)
	writeStuffed(w, msg)
	w.Flush()
}

func TestSampleMessages(t *testing.T) {
	a, b := SampleMessages(50), SampleMessages(50)
	if len(a) != 50 {
		t.Fatalf("SampleMessages(50) gave %d, want 50", len(a))
	}
	seen := map[string]bool{}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("message %d differs between calls", i)
		}
		if !bytes.HasSuffix(a[i], []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(a[i], []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("message %d: want CRLF line endings only", i)
		}
		if seen[string(a[i])] {
			t.Errorf("message %d repeats an earlier one", i)
		}
		seen[string(a[i])] = true
	}
	if got := SampleMessages(3); len(got) != 3 || !bytes.Equal(got[2], a[2]) {
		t.Errorf("SampleMessages(3) is not a prefix of SampleMessages(50)")
	}
	if !bytes.Contains(a[1], []byte("\r\n.\r\n")) || !bytes.Contains(a[1], []byte("\r\n..\r\n")) {
		t.Errorf("message 1 lacks the \".\" and \"..\" lines")
	}
	if longest(a[2]) < 10000 {
		t.Errorf("message 2's longest line is %d, want >= 10000", longest(a[2]))
	}
	if bytes.IndexFunc(headerOf(a[3]), func(r rune) bool { return r > 127 }) < 0 {
		t.Errorf("message 3 has no 8-bit header")
	}
	if bytes.Contains(a[4], []byte("Message-ID:")) {
		t.Errorf("message 4 has a Message-ID, want none")
	}
	rest, ok := bytes.CutPrefix(a[6], []byte("Received: "))
	if !ok || !bytes.HasSuffix(a[6], bodyOf(a[5])) || !bytes.Contains(rest, headerLine(a[5], "Message-ID:")) {
		t.Errorf("message 6 is not message 5 with a Received: header added")
	}
}

func longest(msg []byte) int {
	n := 0
	for _, l := range bytes.Split(msg, []byte("\n")) {
		n = max(n, len(l))
	}
	return n
}

func headerOf(msg []byte) []byte {
	h, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	return h
}

func bodyOf(msg []byte) []byte {
	_, b, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	return b
}

func headerLine(msg []byte, name string) []byte {
	for _, l := range bytes.Split(headerOf(msg), []byte("\r\n")) {
		if bytes.HasPrefix(l, []byte(name)) {
			return l
		}
	}
	return []byte("\x00missing")
}
