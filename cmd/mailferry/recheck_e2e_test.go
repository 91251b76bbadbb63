package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readLogFile reads the lines of a --log-file, each parsed.
func readLogFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("log file mode %v, want 0600", mode)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"time", "source", "ref", "message_id", "folder", "uid", "outcome", "bytes"} {
			if _, ok := l[k]; !ok {
				t.Fatalf("log line %q has no %q", sc.Text(), k)
			}
		}
		lines = append(lines, l)
	}
	return lines
}

// outcomes counts the lines of each outcome.
func outcomes(lines []map[string]any) map[string]int {
	n := map[string]int{}
	for _, l := range lines {
		n[l["outcome"].(string)]++
	}
	return n
}

// A message deleted from the target after a run: verify says to run
// --recheck, a plain migrate trusts the state and copies nothing,
// migrate --recheck restores exactly it, a second --recheck nothing;
// --log-file tells where each message went.
func TestDovecotRecheckRestoresMissing(t *testing.T) {
	seed, unique := trickyMail(false)
	e := newE2E(t, seed)
	logFile := filepath.Join(e.dir, "mailferry.log")
	if code, out := e.run(nil, "--log-file", logFile); code != exitOK {
		t.Fatalf("migrate exit %d:\n%s", code, out)
	}
	lines := readLogFile(t, logFile)
	if len(lines) != len(seed) {
		t.Fatalf("log file has %d lines, want one per message (%d)", len(lines), len(seed))
	}
	if n := outcomes(lines); n["copied"] != len(unique) || n["duplicate"] != len(seed)-len(unique) {
		t.Fatalf("log outcomes %v, want %d copied, %d duplicate", n, len(unique), len(seed)-len(unique))
	}
	for _, l := range lines {
		if l["folder"] != "INBOX" || l["uid"].(float64) == 0 || !strings.HasPrefix(l["source"].(string), "pop3s://alice@") {
			t.Fatalf("log line %v: want INBOX, a UID, the source", l)
		}
	}

	e.dc.Exec(t, "expunge", "-u", "bob", "mailbox", "INBOX", "header", "Message-ID", "dots@example.org")
	code, out := e.runSub("verify")
	if code != exitFailed || !strings.Contains(out, "missing (1):") ||
		!strings.Contains(out, "run `mailferry migrate --recheck` to copy the missing messages again") {
		t.Fatalf("verify after expunge: exit %d, want %d, one missing and the --recheck hint:\n%s", code, exitFailed, out)
	}
	t.Logf("verify after expunge:\n%s", out)

	code, out = e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          0") || strings.Contains(out, "restored:") {
		t.Fatalf("plain re-run: exit %d, want nothing copied:\n%s", code, out)
	}
	if got := e.target(); len(got) != len(unique)-1 {
		t.Fatalf("after a plain re-run bob's INBOX holds %d, want %d", len(got), len(unique)-1)
	}
	t.Logf("plain re-run:\n%s", out)

	code, out = e.run(nil, "--recheck", "--log-file", logFile)
	if code != exitOK || !strings.Contains(out, "restored:        1") || !strings.Contains(out, "copied:          0") {
		t.Fatalf("--recheck: exit %d, want 1 restored and 0 copied:\n%s", code, out)
	}
	t.Logf("--recheck:\n%s", out)
	wantEachOnce(t, e.target(), unique)
	lines = readLogFile(t, logFile)[len(seed):]
	if len(lines) != 1 || lines[0]["outcome"] != "restored" || lines[0]["message_id"] != "dots@example.org" ||
		lines[0]["uid"].(float64) == 0 {
		t.Fatalf("--recheck logged %v, want one restored line for dots@example.org with its new UID", lines)
	}

	code, out = e.run(nil, "--recheck")
	if code != exitOK || !strings.Contains(out, "restored:        0") || !strings.Contains(out, "copied:          0") {
		t.Fatalf("second --recheck: exit %d, want nothing restored or copied:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), unique)
	if code, out := e.runSub("verify"); code != exitOK || strings.Contains(out, "--recheck") {
		t.Fatalf("verify after --recheck: exit %d, want 0 and no hint:\n%s", code, out)
	}
}

// Filters in the config leave messages out, counted, and a run without
// them copies those.
func TestDovecotFiltersThenWithout(t *testing.T) {
	seed, unique := trickyMail(false)
	e := newE2E(t, seed)
	// Every message of trickyMail is dated 2 March 2026 (the redelivered
	// one received 3 March); the 1 MB line is the only large one.
	base, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	filtered := string(base) + "    max_message_size: 512k\n    before: 2026-03-01\n"
	if err := os.WriteFile(e.config, []byte(filtered), 0o600); err != nil {
		t.Fatal(err)
	}
	// The 8-bit message has no date at all: a date bound takes it.
	code, out := e.run(nil)
	if code != exitOK || !strings.Contains(out, "skipped by filter: "+itoa(len(seed)-1)) || !strings.Contains(out, "copied:          1") {
		t.Fatalf("filtered run: exit %d, want every dated message skipped by filter:\n%s", code, out)
	}
	t.Logf("filtered run:\n%s", out)
	if err := os.WriteFile(e.config, []byte(string(base)+"    max_message_size: 512k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = e.run(nil)
	if code != exitOK || !strings.Contains(out, "skipped by filter: 1") || !strings.Contains(out, "copied:          "+itoa(len(unique)-2)) {
		t.Fatalf("size-filtered run: exit %d, want one message skipped:\n%s", code, out)
	}
	if err := os.WriteFile(e.config, base, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = e.run(nil)
	if code != exitOK || strings.Contains(out, "skipped by filter") || !strings.Contains(out, "copied:          1") {
		t.Fatalf("run without filter: exit %d, want the large message copied:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), unique)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
