package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runSub runs the mailferry subcommand sub with the job's config to its
// end and returns its exit code and output (e.run runs migrate).
func (e *e2e) runSub(sub string, args ...string) (int, string) {
	e.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{sub, "--config", e.config}, args...)...)
	cmd.Env = append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1",
		"MAILFERRY_SOURCE_PASSWORD="+popPass, "MAILFERRY_TARGET_PASSWORD="+imapPass)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		e.t.Fatalf("mailferry %s did not exit: %v", sub, err)
	}
	for _, secret := range []string{popPass, imapPass} {
		if strings.Contains(out.String(), secret) {
			e.t.Fatalf("output shows a password:\n%s", out)
		}
	}
	return code, out.String()
}

func TestDovecotVerify(t *testing.T) {
	seed, unique := trickyMail(false)
	e := newE2E(t, seed)
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("migrate exit %d:\n%s", code, out)
	}
	code, out := e.runSub("verify")
	if code != exitOK || !strings.Contains(out, "OK: every source message") {
		t.Fatalf("verify after migrate: exit %d, want 0:\n%s", code, out)
	}
	t.Logf("verify after migrate:\n%s", out)

	// The user deletes one message from bob's INBOX.
	e.dc.Exec(t, "expunge", "-u", "bob", "mailbox", "INBOX", "header", "Message-ID", "dots@example.org")
	if got := e.target(); len(got) != len(unique)-1 {
		t.Fatalf("after expunge bob's INBOX holds %d, want %d", len(got), len(unique)-1)
	}
	code, out = e.runSub("verify")
	if code != exitFailed || !strings.Contains(out, "missing (1):") || !strings.Contains(out, "NOT OK") ||
		!strings.Contains(out, `"dots" <dots@example.org>`) {
		t.Fatalf("verify after expunge: exit %d, want %d and one missing message listed:\n%s", code, exitFailed, out)
	}
	t.Logf("verify after expunge:\n%s", out)
	// The same in JSON: every line of the output parses, one says what is missing.
	code, out = e.runSub("verify", "--log-format", "json")
	var verdict map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("verify --log-format json: a line is not JSON: %q\n%s", line, out)
		}
		if m["msg"] == "verify" {
			verdict = m
		}
	}
	if code != exitFailed || verdict == nil || verdict["ok"] != false || verdict["missing"] != 1.0 {
		t.Fatalf("verify --log-format json after expunge: exit %d, want %d and a verify line with missing 1:\n%s", code, exitFailed, out)
	}
	// verify read the target without marking anything \Seen.
	for _, m := range e.dc.Fetch(t, "bob", "INBOX") {
		for _, f := range m.Flags {
			if f == `\Seen` {
				t.Fatalf("verify set \\Seen on UID %d", m.UID)
			}
		}
	}

	// migrate puts it back (the state knows it as done, so lose the
	// state: the target is compared), and verify agrees.
	os.Remove(filepath.Join(e.dir, "state.db"))
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("re-migrate exit %d:\n%s", code, out)
	}
	if code, out := e.runSub("verify"); code != exitOK {
		t.Fatalf("verify after re-migrate: exit %d:\n%s", code, out)
	}
}
