package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/couriertest"
	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/popa3dtest"
	"github.com/mailferry/mailferry/migrate/identity"
)

// A dropMsg is one message of the maildrop the POP3 server tests share,
// as RFC 5322 text with CRLF line ends unless raw says otherwise.
type dropMsg struct {
	name string
	text []byte
	// raw: a server that stores files (Courier's Maildir, popa3d's mbox)
	// gets text byte for byte, line ends included, instead of its usual
	// LF form; Cyrus, which stores what APPEND gives, gets it too.
	raw bool
}

// popMaildrop is the maildrop: 8-bit header fields (UTF-8 and Latin-1),
// messages without Message-ID, without Date, Received and Message-ID
// (popa3d gives those one shared UIDL), byte-identical copies, dot lines,
// mixed line ends and a message stored with CR LF (which courier-pop and
// popa3d serve with CR CR LF), a long line, a big attachment and filler
// for the figures.
func popMaildrop(filler int) []dropMsg {
	date := "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n"
	bare := func(n int) []byte {
		return []byte(fmt.Sprintf("From: a@example.org\r\nSubject: bare %d\r\n\r\nno date, no id, no received %d\r\n", n, n))
	}
	msgs := []dropMsg{
		{name: "utf8", text: []byte("From: Zoë <zoe@example.org>\r\nTo: Jürgen <j@example.org>\r\nSubject: Réunion à Genève\r\n" +
			date + "Message-ID: <utf8@pop.example>\r\n\r\nCafé.\r\n")},
		{name: "latin1-noid", text: []byte("From: J\xfcrgen <j@example.org>\r\nSubject: Gr\xfc\xdfe, \xe9t\xe9\r\n" + date +
			"\r\nLatin-1 body \xe4\xf6\xfc\r\n")},
		{name: "noid", text: []byte("From: a@example.org\r\nSubject: no Message-ID\r\n" + date + "\r\nkeyed by content\r\n")},
		{name: "bare-1", text: bare(1)},
		{name: "bare-2", text: bare(2)},
		{name: "bare-3", text: bare(3)},
		{name: "bare-1-again", text: bare(1)},
		{name: "dup", text: mail("dup@pop.example", "delivered twice", "same bytes\r\n")},
		{name: "dup-again", text: mail("dup@pop.example", "delivered twice", "same bytes\r\n")},
		{name: "dots", text: mail("dots@pop.example", "dots", ".\r\n..\r\n.leading\r\n...\r\nend\r\n.\r\n")},
		{name: "mixed-ends", raw: true, text: []byte("From: a@example.org\nSubject: mixed line ends\r\nMessage-ID: <mixed@pop.example>\n" +
			date + "\nLF\nCR LF\r\nlone CR\rthen LF\nCR CR LF\r\r\nend\r\n")},
		{name: "crlf-body", raw: true, text: []byte("From: a@example.org\nSubject: body stored with CR LF\nMessage-ID: <crlf@pop.example>\n" +
			"Date: Mon, 2 Mar 2026 09:00:00 +0000\n\nline one\r\nline two\r\n")},
		{name: "long-line", text: mail("long@pop.example", "200 KB line", strings.Repeat("x", 200<<10)+"\r\n")},
		{name: "big", text: mail("big@pop.example", "2 MB attachment", "Content-Type: application/octet-stream\r\n"+
			"Content-Transfer-Encoding: base64\r\n\r\n"+strings.Repeat(strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 2)+"\r\n", 2<<20/72))},
	}
	for i := range filler {
		id := fmt.Sprintf("filler-%04d@pop.example", i)
		if i%10 == 0 {
			id = ""
		}
		msgs = append(msgs, dropMsg{name: "filler", text: mail(id, fmt.Sprintf("filler %d", i),
			strings.Repeat(fmt.Sprintf("filler message %d, a line of ordinary text to make it weigh.\r\n", i), 40+i%80))})
	}
	return msgs
}

// lfForm is text as a Maildir or mbox file holds mail: LF line ends.
func lfForm(m dropMsg) []byte {
	if m.raw {
		return m.text
	}
	return bytes.ReplaceAll(m.text, []byte("\r\n"), []byte("\n"))
}

// fileServed is what courier-pop and popa3d serve for a stored message:
// every LF of the file becomes CR LF, whatever precedes it, so a stored
// CR LF comes out as CR CR LF; nothing else changes.
func fileServed(stored []byte) []byte {
	return bytes.ReplaceAll(stored, []byte("\n"), []byte("\r\n"))
}

// cyrusForm is b with every line end CR LF and no lone CR: what Cyrus
// takes in APPEND.
func cyrusForm(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// popa3dMbox is the maildrop of popa3d: each message after a "From " line
// and followed by an empty line, as stored (lfForm).
func popa3dMbox(msgs []dropMsg) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		b.WriteString("From mailferry-test@localhost Mon Jan  1 00:00:00 2024\n")
		b.Write(lfForm(m))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// popSource is one POP3 server holding the maildrop, as a test sees it.
type popSource struct {
	name   string
	addr   string              // POP3, plaintext
	stored func() [][]byte     // the messages as the server stores them, in maildrop order
	served func([]byte) []byte // what RETR gives for a stored message, per the server's rules
}

func TestPOP3ServersIntoDovecot(t *testing.T) {
	filler := 300
	if testing.Short() {
		filler = 20
	}
	drop := popMaildrop(filler)
	for _, name := range []string{"courier", "popa3d", "cyrus"} {
		t.Run(name, func(t *testing.T) {
			src := startPOP3Source(t, name, drop)
			testPOP3Source(t, src)
		})
	}
}

// startPOP3Source starts server name with alice's maildrop drop.
func startPOP3Source(t *testing.T, name string, drop []dropMsg) popSource {
	alice := "alice"
	switch name {
	case "courier":
		s := couriertest.Start(t, couriertest.Options{Users: []couriertest.User{{Name: alice, Password: popPass}}})
		var files [][]byte
		for _, m := range drop {
			files = append(files, lfForm(m))
		}
		s.Seed(t, alice, "", files)
		return popSource{name: name, addr: s.POP3Addr, served: fileServed, stored: func() [][]byte {
			var out [][]byte
			for _, m := range s.Maildir(t, alice, "") {
				out = append(out, m.Body)
			}
			return out
		}}
	case "popa3d":
		s := popa3dtest.Start(t, popa3dtest.Options{Users: []popa3dtest.User{{Name: alice, Password: popPass}}})
		s.SetMbox(t, alice, popa3dMbox(drop))
		return popSource{name: name, addr: s.POP3Addr, served: fileServed, stored: func() [][]byte {
			var out [][]byte
			for _, m := range drop {
				out = append(out, lfForm(m))
			}
			return out
		}}
	default:
		s := cyrustest.Start(t, cyrustest.Options{Users: []cyrustest.User{{Name: alice, Password: popPass}}})
		// Cyrus refuses a bare CR or LF in APPEND ("Message contains bare
		// newlines"): those messages get CR LF line ends.
		var msgs [][]byte
		for _, m := range drop {
			msgs = append(msgs, cyrusForm(m.text))
		}
		s.Seed(t, alice, "", msgs)
		stored := func() [][]byte {
			var out [][]byte
			for _, m := range s.Fetch(t, alice, "") {
				out = append(out, m.Body)
			}
			return out
		}
		// munge8bit (the default) stores an X for each 8-bit header byte.
		for i, got := range stored() {
			if want := identity.Munge(msgs[i]); !bytes.Equal(got, want) {
				t.Errorf("cyrus stored message %d as %.200q, want %.200q", i+1, got, want)
			}
		}
		return popSource{name: name, addr: s.POP3Addr, served: func(b []byte) []byte { return b }, stored: stored}
	}
}

// testPOP3Source migrates src's maildrop into a fresh Dovecot and checks
// the copies, verify, a re-run and a run with the state file lost.
func testPOP3Source(t *testing.T, src popSource) {
	served := retrAll(t, src.addr, "alice", popPass)
	stored := src.stored()
	if len(stored) != len(served) {
		t.Fatalf("%s stores %d messages and serves %d", src.name, len(stored), len(served))
	}
	for i := range stored {
		if want := src.served(stored[i]); !bytes.Equal(served[i].body, want) {
			t.Errorf("%s: RETR %d = %.200q, want the stored message %.200q with the server's rules", src.name, i+1, served[i].body, want)
		}
	}
	want, bytesIn := uniqueBodies(served)

	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{{Name: "bob", Password: imapPass}}})
	e := &e2e{t: t, dc: dc, dir: t.TempDir()}
	e.config = filepath.Join(e.dir, "mailferry.yaml")
	text := plainTarget(e.dir, dc) + fmt.Sprintf("sources:\n  - url: pop3://alice@%s\n    tls: none\n    allow_plaintext: true\n", src.addr)
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	code, out := e.run(nil)
	took := time.Since(start)
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("copied:          %d ", len(want))) {
		t.Fatalf("%s: first run exit %d, want 0 and %d copied:\n%s", src.name, code, len(want), out)
	}
	t.Logf("figures: %s POP3 -> Dovecot: %d messages (%d in the maildrop), %d bytes, %.2f s (mailferry migrate, whole process)",
		src.name, len(want), len(served), bytesIn, took.Seconds())
	checkDovecotHolds(t, dc, want)

	if code, out := e.runSub("verify"); code != exitOK || !strings.Contains(out, "OK: every source message") {
		t.Fatalf("%s: verify exit %d, want 0 and OK:\n%s", src.name, code, out)
	}
	if code, out := e.run(nil); code != exitOK || !strings.Contains(out, "copied:          0 ") {
		t.Fatalf("%s: re-run exit %d, want 0 and nothing copied:\n%s", src.name, code, out)
	}
	if err := os.Remove(filepath.Join(e.dir, "state.db")); err != nil {
		t.Fatal(err)
	}
	if code, out := e.run(nil); code != exitOK || !strings.Contains(out, "copied:          0 ") {
		t.Fatalf("%s: run with the state file lost: exit %d, want 0 and nothing copied:\n%s", src.name, code, out)
	}
	checkDovecotHolds(t, dc, want)
}

// uniqueBodies returns each distinct message of served once, and their
// total size.
func uniqueBodies(served []popMsg) ([][]byte, int64) {
	seen := map[string]bool{}
	var out [][]byte
	var n int64
	for _, m := range served {
		if !seen[string(m.body)] {
			seen[string(m.body)] = true
			out = append(out, m.body)
			n += int64(len(m.body))
		}
	}
	return out, n
}

// dovecotStored is what Dovecot (Maildir, default settings) gives back
// for a message APPENDed as b: it stores CR CR LF as CR LF.
func dovecotStored(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\r\r\n"), []byte("\r\n"))
}

// checkDovecotHolds checks that bob's INBOX holds each of want once,
// byte for byte as Dovecot stores it, and nothing else.
func checkDovecotHolds(t *testing.T, dc *dovecottest.Server, want [][]byte) {
	t.Helper()
	left := map[string]int{}
	for _, w := range want {
		left[string(dovecotStored(w))]++
	}
	got := dc.Fetch(t, "bob", "INBOX")
	for _, g := range got {
		if left[string(g.Body)] == 0 {
			t.Errorf("Dovecot holds an unexpected message or a second copy (UID %d, %d bytes): %.200q", g.UID, len(g.Body), g.Body)
			continue
		}
		left[string(g.Body)]--
	}
	for w, n := range left {
		if n > 0 {
			t.Errorf("Dovecot lacks a message (%d bytes): %.200q", len(w), w)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("Dovecot holds %d messages, want %d", len(got), len(want))
	}
}

// A popMsg is a message as a POP3 server serves it.
type popMsg struct {
	uidl string
	body []byte // RETR, dot-stuffing removed
}

// retrAll reads a maildrop with a minimal POP3 client of its own: CAPA,
// UTF8 when announced (RFC 6856), USER/PASS, UIDL, RETR of every message.
func retrAll(t *testing.T, addr, user, pass string) []popMsg {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	p := &rawPOP3{t: t, r: bufio.NewReader(c), w: c}
	p.status("")
	caps, ok := p.multi("CAPA")
	if ok && bytes.Contains(append([]byte("\r\n"), caps...), []byte("\r\nUTF8")) {
		p.status("UTF8")
	}
	p.status("USER " + user)
	p.status("PASS " + pass)
	uidls, _ := p.multi("UIDL")
	var msgs []popMsg
	for _, line := range strings.Split(strings.TrimSpace(string(uidls)), "\r\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("UIDL line %q", line)
		}
		num, _ := strconv.Atoi(f[0])
		body, ok := p.multi("RETR " + strconv.Itoa(num))
		if !ok {
			t.Fatalf("RETR %d refused", num)
		}
		msgs = append(msgs, popMsg{uidl: f[1], body: body})
	}
	p.status("QUIT")
	return msgs
}

type rawPOP3 struct {
	t *testing.T
	r *bufio.Reader
	w io.Writer
}

// status sends cmd (none when empty) and wants +OK.
func (p *rawPOP3) status(cmd string) {
	p.t.Helper()
	if _, ok := p.reply(cmd); !ok {
		p.t.Fatalf("POP3 %q refused", strings.Fields(cmd + " x")[0])
	}
}

func (p *rawPOP3) reply(cmd string) (string, bool) {
	p.t.Helper()
	if cmd != "" {
		fmt.Fprintf(p.w, "%s\r\n", cmd)
	}
	line, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("POP3 %q: %v", strings.Fields(cmd + " x")[0], err)
	}
	return line, strings.HasPrefix(line, "+OK")
}

// multi sends cmd and returns its multi-line answer, dot-stuffing removed,
// line ends as sent; false on -ERR.
func (p *rawPOP3) multi(cmd string) ([]byte, bool) {
	p.t.Helper()
	if _, ok := p.reply(cmd); !ok {
		return nil, false
	}
	var b bytes.Buffer
	for {
		line, err := p.r.ReadBytes('\n')
		if err != nil {
			p.t.Fatalf("POP3 %s: %v", cmd, err)
		}
		if string(line) == ".\r\n" {
			return b.Bytes(), true
		}
		b.Write(bytes.TrimPrefix(line, []byte(".")))
	}
}

// utf8Refuser is a proxy to a POP3 server that answers the client's UTF8
// command itself, with -ERR: a server that refuses UTF-8 mode.
func utf8Refuser(t *testing.T, upstream string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); refuseUTF8(c, upstream) }()
		}
	}()
	return ln.Addr().String()
}

// lockedWriter serialises writes to the client.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func refuseUTF8(c net.Conn, upstream string) {
	defer c.Close()
	s, err := net.DialTimeout("tcp", upstream, 10*time.Second)
	if err != nil {
		return
	}
	defer s.Close()
	client := &lockedWriter{w: c}
	go func() { io.Copy(client, s); c.Close() }()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.EqualFold(strings.TrimSpace(line), "UTF8") {
			io.WriteString(client, "-ERR UTF8 refused here\r\n")
			continue
		}
		if _, err := io.WriteString(s, line); err != nil {
			return
		}
	}
}

// TestCourierPOP3RefusedUTF8: through a proxy that refuses UTF8, courier-pop
// serves its substitute for each message with 8-bit header fields. Those
// fail with the reason (exit 1) and nothing of them lands, on every run;
// the rest is copied once. Straight from the server, a run then copies
// exactly the messages that failed.
func TestCourierPOP3RefusedUTF8(t *testing.T) {
	drop := popMaildrop(0)
	src := startPOP3Source(t, "courier", drop)
	served := retrAll(t, src.addr, "alice", popPass)
	want, _ := uniqueBodies(served)
	eightBit := 0
	for _, m := range want {
		h, _, _ := bytes.Cut(m, []byte("\r\n\r\n"))
		if bytes.ContainsFunc(h, func(r rune) bool { return r >= 0x80 || r == 0xFFFD }) {
			eightBit++
		}
	}
	if eightBit != 2 {
		t.Fatalf("%d messages with 8-bit header fields, want 2 (utf8, latin1-noid)", eightBit)
	}

	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{{Name: "bob", Password: imapPass}}})
	e := &e2e{t: t, dc: dc, dir: t.TempDir()}
	e.config = filepath.Join(e.dir, "mailferry.yaml")
	write := func(addr string) {
		text := plainTarget(e.dir, dc) + fmt.Sprintf("sources:\n  - url: pop3://alice@%s\n    tls: none\n    allow_plaintext: true\n", addr)
		if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(utf8Refuser(t, src.addr))
	for run := 1; run <= 2; run++ {
		code, out := e.run(nil)
		if code != exitFailed || !strings.Contains(out, "failed:          2") ||
			strings.Count(out, `the server sent a substitute ("Cannot display Unicode content"`) != 2 ||
			!strings.Contains(out, "the server refused the UTF8 command") {
			t.Fatalf("run %d through the proxy: exit %d, want %d and the 2 substitutes failed with their reason:\n%s", run, code, exitFailed, out)
		}
		for _, m := range dc.Fetch(t, "bob", "INBOX") {
			if bytes.Contains(m.Body, []byte("Cannot display Unicode content")) {
				t.Fatalf("run %d: a substitute landed in Dovecot: %.200q", run, m.Body)
			}
		}
		if n := len(dc.Fetch(t, "bob", "INBOX")); n != len(want)-2 {
			t.Fatalf("run %d: Dovecot holds %d messages, want %d", run, n, len(want)-2)
		}
	}
	write(src.addr)
	code, out := e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          2 ") {
		t.Fatalf("run straight from Courier: exit %d, want 0 and the 2 copied:\n%s", code, out)
	}
	checkDovecotHolds(t, dc, want)
}
