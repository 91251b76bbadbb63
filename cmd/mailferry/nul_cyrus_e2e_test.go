package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/internal/servertest"
)

// TestCyrusNULMail runs mailferry on a Maildir holding mail with NUL
// octets (with and without Message-ID) and a plain message into Cyrus
// 3.6, which serves the NUL messages over BODY[] as literal8s: exit 0,
// each once; with the state file deleted the run exits 0 and copies
// nothing; verify exits 0 and says OK.
func TestCyrusNULMail(t *testing.T) {
	srv := cyrustest.Start(t, cyrustest.Options{Users: []cyrustest.User{{Name: "bob", Password: imapPass}}})
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	msgs := [][]byte{
		mail("nul-e2e@example.org", "NUL in the body", "before\x00after\r\n"),
		[]byte("From: b@example.org\r\nSubject: NUL, no Message-ID\r\n\r\nanother\x00body\r\n"),
		mail("plain-e2e@example.org", "plain", "no NUL\r\n"),
	}
	for i, m := range msgs {
		writeFile(t, filepath.Join(md, fmt.Sprintf("cur/100%d.M%d.host:2,S", i, i)), lf(m), time.Time{})
	}
	for _, d := range []string{"new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := &e2e{t: t, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	state := filepath.Join(dir, "state.db")
	cfg := fmt.Sprintf("state: %s\ntarget:\n  url: imap://bob@%s\n  tls: none\n  allow_plaintext: true\nsources:\n  - url: maildir:%s\n",
		state, srv.IMAPAddr, md)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := e.run(nil); code != exitOK || copied(t, out) != len(msgs) {
		t.Fatalf("first run: exit %d, want 0 and %d copied:\n%s", code, len(msgs), out)
	}
	wantEachOnce(t, cyrusBinary(t, srv.IMAPAddr, "bob"), msgs)
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	if code, out := e.run(nil); code != exitOK || copied(t, out) != 0 {
		t.Fatalf("run with the state file deleted: exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	wantEachOnce(t, cyrusBinary(t, srv.IMAPAddr, "bob"), msgs)
	if code, out := e.runSub("verify"); code != exitOK || !strings.Contains(out, "OK: every source message") {
		t.Errorf("verify: exit %d, want 0 and OK:\n%s", code, out)
	}
}

// cyrusBinary returns the messages in user's INBOX, read with
// BINARY.PEEK[] (the test messages have no transfer encoding).
func cyrusBinary(t *testing.T, addr, user string) [][]byte {
	t.Helper()
	msgs, err := servertest.FetchBinary(addr, user, imapPass, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}
