package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDovecotLostStateServerForms: Dovecot (default settings) gives back a
// NUL as 0x80 and stores CR CR LF as CR LF. Such messages must still be
// recognised as copied: a run with the state file lost copies nothing
// again, and verify finds every message present.
func TestDovecotLostStateServerForms(t *testing.T) {
	seed := [][]byte{
		mail("nul@example.org", "NUL", "before\x00after\r\n"),
		mail("crcrlf@example.org", "CR CR LF", "line one\r\r\nline two\r\n"),
		mail("", "NUL without an ID", "anon\x00ymous\r\n"),
		mail("", "CR CR LF without an ID", "anon\r\r\nymous\r\n"),
		mail("plain@example.org", "plain", "plain\r\n"),
	}
	e := newE2E(t, seed)
	if code, out := e.run(nil); code != exitOK || !strings.Contains(out, "copied:          5") {
		t.Fatalf("first run exit %d, want 0 and 5 copied:\n%s", code, out)
	}
	if err := os.Remove(filepath.Join(e.dir, "state.db")); err != nil {
		t.Fatal(err)
	}
	code, out := e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          0") || !strings.Contains(out, "already present: 5") {
		t.Fatalf("run with the state lost: exit %d, want 0, nothing copied, 5 present:\n%s", code, out)
	}
	if n := len(e.dc.Fetch(t, "bob", "INBOX")); n != len(seed) {
		t.Fatalf("the target holds %d messages, want %d", n, len(seed))
	}
	if code, out := e.runSub("verify"); code != exitOK {
		t.Fatalf("verify exit %d, want 0:\n%s", code, out)
	}
}
