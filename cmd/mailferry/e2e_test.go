package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/state"
)

// TestMain lets the test binary act as the mailferry command, so that
// tests can run it as a separate process (to kill it, or to hold locks
// against it) without building anything else.
func TestMain(m *testing.M) {
	if os.Getenv("MAILFERRY_TEST_AS_MAIN") == "1" {
		installCrashHook()
		main()
		return
	}
	os.Exit(m.Run())
}

const (
	popPass  = "pop-Secret-7c1e"
	imapPass = "imap-Secret-93ad"
)

// e2e is a private Dovecot with a POP3 user "alice" and an IMAP user
// "bob", and a config that moves alice's maildrop into bob's INBOX.
type e2e struct {
	t      *testing.T
	dc     *dovecottest.Server
	dir    string
	config string
	seeded [][]byte
}

func newE2E(t *testing.T, msgs [][]byte) *e2e {
	t.Helper()
	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	e := &e2e{t: t, dc: dc, dir: t.TempDir(), seeded: msgs}
	dc.Seed(t, "alice", "INBOX", msgs)
	e.writeConfig("")
	return e
}

// writeConfig writes the job's config; extra is appended to the target
// section (e.g. to drop the CA).
func (e *e2e) writeConfig(targetExtra string) {
	text := fmt.Sprintf(`state: %s
target:
  url: imaps://bob@%s
  ca_file: %s
  connections: 4
%ssources:
  - url: pop3s://alice@%s
    ca_file: %s
    folder: INBOX
`, filepath.Join(e.dir, "state.db"), e.dc.IMAPSAddr, e.dc.CAFile, targetExtra, e.dc.POP3SAddr, e.dc.CAFile)
	e.config = filepath.Join(e.dir, "mailferry.yaml")
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// plainTarget starts a config for dc on plaintext loopback: the state in
// dir and bob's account as the target. The sources follow.
func plainTarget(dir string, dc *dovecottest.Server) string {
	return fmt.Sprintf("state: %s\ntarget:\n  url: imap://bob@%s\n  tls: none\n  allow_plaintext: true\n",
		filepath.Join(dir, "state.db"), dc.IMAPAddr)
}

// plainPOP3 is alice's maildrop on plaintext loopback as an item of a
// config's sources; lines for that source may follow it.
func plainPOP3(dc *dovecottest.Server) string {
	return fmt.Sprintf("  - url: pop3://alice@%s\n    tls: none\n    allow_plaintext: true\n", dc.POP3Addr)
}

// start runs mailferry as a child process.
func (e *e2e) start(env []string, args ...string) (*exec.Cmd, *syncBuffer) {
	e.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"migrate", "--config", e.config}, args...)...)
	cmd.Env = append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1",
		"MAILFERRY_SOURCE_PASSWORD="+popPass, "MAILFERRY_TARGET_PASSWORD="+imapPass)
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return cmd, out
}

// run runs mailferry to its end and returns its exit code and output.
func (e *e2e) run(env []string, args ...string) (int, string) {
	e.t.Helper()
	cmd, out := e.start(env, args...)
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		e.t.Fatalf("mailferry did not exit: %v", err)
	}
	for _, secret := range []string{popPass, imapPass} {
		if strings.Contains(out.String(), secret) {
			e.t.Fatalf("output shows a password:\n%s", out)
		}
	}
	return code, out.String()
}

// target returns bob's INBOX with line endings normalised to CRLF.
func (e *e2e) target() [][]byte {
	var got [][]byte
	for _, m := range e.dc.Fetch(e.t, "bob", "INBOX") {
		got = append(got, crlf(m.Body))
	}
	return got
}

func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// wantEachOnce checks that the target holds each of want once and
// nothing else.
func wantEachOnce(t *testing.T, got, want [][]byte) {
	t.Helper()
	left := map[string]int{}
	for _, w := range want {
		left[string(crlf(w))]++
	}
	for i, g := range got {
		if left[string(g)] == 0 {
			t.Fatalf("target message %d (%d bytes, %.80q) is unexpected or a duplicate", i, len(g), g)
		}
		left[string(g)]--
	}
	for w, n := range left {
		if n > 0 {
			t.Fatalf("target lacks a message (%d bytes, %.80q)", len(w), w)
		}
	}
}

func mail(id, subject, body string) []byte {
	h := "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject +
		"\r\nDate: Mon, 2 Mar 2026 09:00:00 +0000\r\n"
	if id != "" {
		h += "Message-ID: <" + id + ">\r\n"
	}
	return []byte(h + "\r\n" + body)
}

// trickyMail is the mailbox of the issue: dot lines, a 1 MB line, no
// Message-ID, duplicate Message-IDs both ways, 8-bit headers, 25 MB.
func trickyMail(big bool) (seed, unique [][]byte) {
	dup := mail("dup@example.org", "delivered twice", "same body\r\n")
	redelivered := append([]byte("Received: from relay.example.org by mx; Tue, 3 Mar 2026 10:00:00 +0000\r\n"), dup...)
	seed = [][]byte{
		mail("dots@example.org", "dots", ".\r\n..\r\n.leading\r\n...\r\nend\r\n.\r\n"),
		mail("long@example.org", "1 MB line", strings.Repeat("x", 1<<20)+"\r\n"),
		mail("", "no message id", "anonymous\r\n"),
		mail("bad id", "malformed message id", "malformed\r\n"),
		dup, redelivered,
		mail("reused@example.org", "reused id", "first body\r\n"),
		mail("reused@example.org", "reused id", "second, different body\r\n"),
		[]byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: Gr\xc3\xbc\xc3\x9fe \xe9t\xe9\r\nMessage-ID: <8bit@example.org>\r\n\r\n\xe4\xf6\xfc 8-bit body\r\n"),
	}
	if big {
		att := strings.Repeat(strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 2)+"\r\n", 25<<20/72)
		seed = append(seed, mail("big@example.org", "25 MB attachment",
			"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"+att))
	}
	for i, m := range seed {
		if i != 5 { // the redelivery lands once, as dup
			unique = append(unique, m)
		}
	}
	return seed, unique
}

func TestDovecotMigrateByteExactOnce(t *testing.T) {
	seed, unique := trickyMail(!testing.Short())
	e := newE2E(t, seed)
	code, out := e.run(nil)
	if code != exitOK {
		t.Fatalf("first run exit %d, want 0:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), unique)
	if !strings.Contains(out, fmt.Sprintf("copied:          %d", len(unique))) || !strings.Contains(out, "duplicates:      1") {
		t.Fatalf("summary does not say %d copied and 1 duplicate:\n%s", len(unique), out)
	}

	code, out = e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          0") {
		t.Fatalf("re-run exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	noSecretIn(t, filepath.Join(e.dir, "state.db"))
	wantEachOnce(t, e.target(), unique)

	// A lost state file: the target's Message-IDs and bodies are compared,
	// nothing is copied twice.
	os.Remove(filepath.Join(e.dir, "state.db"))
	code, out = e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          0") {
		t.Fatalf("run with a lost state: exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), unique)
}

func TestDovecotDryRunWritesNothing(t *testing.T) {
	seed, unique := trickyMail(false)
	e := newE2E(t, seed)
	code, out := e.run(nil, "--dry-run")
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("would copy:      %d", len(unique))) {
		t.Fatalf("dry run exit %d, want 0 and %d to copy:\n%s", code, len(unique), out)
	}
	if got := e.target(); len(got) != 0 {
		t.Fatalf("dry run wrote %d messages", len(got))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "state.db")); !os.IsNotExist(err) {
		t.Fatalf("dry run created the state file (stat: %v)", err)
	}
}

func TestDovecotWrongPasswordExits3(t *testing.T) {
	seed, _ := trickyMail(false)
	e := newE2E(t, seed)
	for _, env := range []string{"MAILFERRY_TARGET_PASSWORD=wrong", "MAILFERRY_SOURCE_PASSWORD=wrong"} {
		code, out := e.run([]string{env})
		if code != exitConnect {
			t.Fatalf("%s: exit %d, want %d:\n%s", env, code, exitConnect, out)
		}
		if got := e.target(); len(got) != 0 {
			t.Fatalf("%s: %d messages written", env, len(got))
		}
	}
}

func TestDovecotUntrustedCertificateExits3(t *testing.T) {
	seed, _ := trickyMail(false)
	e := newE2E(t, seed)
	e.writeConfig("")
	// Without ca_file the self-signed certificate is not trusted.
	text, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, bytes.Replace(text, []byte("  ca_file: "+e.dc.CAFile+"\n  connections"), []byte("  connections"), 1), 0o600)
	code, out := e.run(nil)
	if code != exitConnect || !strings.Contains(out, "certificate") {
		t.Fatalf("exit %d, want %d and a certificate error:\n%s", code, exitConnect, out)
	}
	if got := e.target(); len(got) != 0 {
		t.Fatalf("%d messages written despite the untrusted certificate", len(got))
	}
}

func TestDovecotConcurrentRunExits4(t *testing.T) {
	seed, _ := trickyMail(false)
	e := newE2E(t, seed)
	st, err := state.Open(filepath.Join(e.dir, "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, out := e.run(nil)
	if code != exitLocked {
		t.Fatalf("exit %d while another run holds the state, want %d:\n%s", code, exitLocked, out)
	}
}

// waitFor polls out until it holds s, the process exits, or d passes.
func waitFor(out *syncBuffer, s string, exited <-chan struct{}, d time.Duration) bool {
	deadline := time.After(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(out.String(), s) {
			return true
		}
		select {
		case <-exited:
			return strings.Contains(out.String(), s)
		case <-deadline:
			return false
		case <-tick.C:
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while a child writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDovecotInterruptExits130 sends SIGINT while mailferry copies: it
// stops with exit 130 and a summary, and the next run finishes the job.
func TestDovecotInterruptExits130(t *testing.T) {
	var seed [][]byte
	for i := range 600 {
		seed = append(seed, mail(fmt.Sprintf("int%04d@example.org", i), "interrupt", strings.Repeat("body line\r\n", 200)))
	}
	e := newE2E(t, seed)
	cmd, out := e.start(nil)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	if !waitFor(out, "msg=listed", exited, 30*time.Second) {
		t.Fatalf("no listing before the end:\n%s", out)
	}
	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("mailferry did not stop within 30s of SIGINT:\n%s", out)
	}
	code := cmd.ProcessState.ExitCode()
	if code != exitInterrupted || !strings.Contains(out.String(), "copied:") {
		t.Fatalf("exit %d, want %d with a summary:\n%s", code, exitInterrupted, out)
	}
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("run after the interrupt: exit %d:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), seed)
}

// noSecretIn fails t if the file holds a password, or is readable by
// anyone but its owner.
func noSecretIn(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{popPass, imapPass} {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("%s holds a password", path)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: mode %v (%v), want 0600", path, fi.Mode().Perm(), err)
	}
}
