package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// planJob is a job for check and the dry run's plan: alice's maildrop
// (three messages, deleted after upload) and an mbox file whose first
// message is also in the maildrop, into bob's account.
type planJob struct {
	dc          *dovecottest.Server
	dir, config string
	env         []string
}

func newPlanJob(t *testing.T) *planJob {
	t.Helper()
	a := mail("a@example.org", "a", "only in the maildrop\r\n")
	b := mail("b@example.org", "b", "in the maildrop and in the mbox\r\n")
	c := mail("c@example.org", "c", "only in the maildrop too\r\n")
	d := mail("d@example.org", "d", "only in the mbox\r\n")
	dc := dovecottest.Start(t, dovecottest.Options{SpecialUse: true, Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	dc.Seed(t, "alice", "INBOX", [][]byte{a, b, c})
	j := &planJob{dc: dc, dir: t.TempDir(),
		env: []string{"MAILFERRY_SOURCE_PASSWORD=" + popPass, "MAILFERRY_TARGET_PASSWORD=" + imapPass}}
	mbox := filepath.Join(j.dir, "Lists.mbox")
	text := "From someone@example.org Sat May  4 03:02:01 2019\n" + string(lf(b)) +
		"\nFrom someone@example.org Sat May  4 03:02:02 2019\n" + string(lf(d)) + "\n"
	writeFile(t, mbox, []byte(text), time.Time{})
	j.config = filepath.Join(j.dir, "mailferry.yaml")
	cfg := fmt.Sprintf(`state: %s
target:
  url: imaps://bob@%s
  ca_file: %s
sources:
  - url: mbox:%s
  - url: pop3s://alice@%s
    ca_file: %s
    delete: after-upload
`, filepath.Join(j.dir, "state.db"), dc.IMAPSAddr, dc.CAFile, mbox, dc.POP3SAddr, dc.CAFile)
	if err := os.WriteFile(j.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return j
}

// unchanged checks that nothing was written: bob's account is empty,
// alice's maildrop full, and no state file was created.
func (j *planJob) unchanged(t *testing.T) {
	t.Helper()
	if got := j.dc.Fetch(t, "bob", "INBOX"); len(got) != 0 {
		t.Errorf("the target's INBOX holds %d messages, want none", len(got))
	}
	if got := j.dc.Fetch(t, "alice", "INBOX"); len(got) != 3 {
		t.Errorf("the maildrop holds %d messages, want 3", len(got))
	}
	if _, err := os.Stat(filepath.Join(j.dir, "state.db")); !os.IsNotExist(err) {
		t.Errorf("state file: %v, want it not created", err)
	}
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestDovecotDryRunPlan(t *testing.T) {
	j := newPlanJob(t)
	code, out := runCommand(t, j.env, "migrate", "--config", j.config, "--dry-run")
	t.Logf("mailferry migrate --dry-run:\n%s", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	j.unchanged(t)
	plan := planLines(out)
	want := []string{
		"mbox:" + filepath.Join(j.dir, "Lists.mbox"),
		"FOLDER TARGET MESSAGES TO COPY BYTES PRESENT DUPLICATES DONE BEFORE FAILED",
		`(top level) "Lists" (new) 2 2 321 B 0 0 0 0`,
		"pop3s://alice@" + j.dc.POP3SAddr + " (delete: after-upload)",
		"FOLDER TARGET MESSAGES TO COPY BYTES PRESENT DUPLICATES DONE BEFORE FAILED",
		`(maildrop) "INBOX" 3 2 318 B 0 1 0 0`,
		"would delete 3 from the POP3 server after the run, each once the target holds it",
	}
	if !slices.Equal(plan, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(plan, "\n"), strings.Join(want, "\n"))
	}

	// After a run, a new message in the maildrop: the mbox is done, the
	// maildrop has one to copy and delete.
	if code, out := runCommand(t, j.env, "migrate", "--config", j.config); code != exitOK {
		t.Fatalf("migrate: exit %d:\n%s", code, out)
	}
	j.dc.Seed(t, "alice", "INBOX", [][]byte{mail("e@example.org", "e", "new since the run\r\n")})
	code, out = runCommand(t, j.env, "migrate", "--config", j.config, "--dry-run")
	t.Logf("mailferry migrate --dry-run after a run:\n%s", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	plan = planLines(out)
	want[2] = `(top level) "Lists" 2 0 0 B 0 0 2 0`
	want[5] = `(maildrop) "INBOX" 1 1 154 B 0 0 0 0`
	want[6] = "would delete 1 from the POP3 server after the run, each once the target holds it"
	if !slices.Equal(plan, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(plan, "\n"), strings.Join(want, "\n"))
	}
	if got := j.dc.Fetch(t, "alice", "INBOX"); len(got) != 1 {
		t.Errorf("the maildrop holds %d messages, want 1 (the dry run deletes nothing)", len(got))
	}
}

// planLines returns the lines of the dry run's plan, spaces squeezed.
func planLines(out string) []string {
	_, plan, _ := strings.Cut(out, "Plan (source folder -> target folder):\n")
	plan, _, _ = strings.Cut(plan, "Dry run:")
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(plan), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestDovecotCheck(t *testing.T) {
	j := newPlanJob(t)
	code, out := runCommand(t, j.env, "check", "--config", j.config)
	t.Logf("mailferry check:\n%s", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	wantLines(t, out,
		"target imaps://bob@"+j.dc.IMAPSAddr, "login:        ok (implicit TLS)", "tls:          TLS 1.3",
		"fingerprint:  sha256:", "LITERAL+ yes, UIDPLUS yes, SPECIAL-USE yes, NAMESPACE yes", `delimiter "/"`,
		"source pop3s://alice@"+j.dc.POP3SAddr, "UIDL yes, PIPELINING yes", "maildrop:     3 messages",
		"archive:      2 messages",
		"Folder plan (source folder -> target folder):", `(top level) -> "Lists" (new)  2 messages`,
		`(maildrop) -> "INBOX"  3 messages`, "Every server answered.")
	j.unchanged(t)

	// The plaintext ports, upgraded with STARTTLS and STLS.
	cfg, err := os.ReadFile(j.config)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(cfg), "imaps://bob@"+j.dc.IMAPSAddr, "imap://bob@"+j.dc.IMAPAddr, 1)
	text = strings.Replace(text, "pop3s://alice@"+j.dc.POP3SAddr, "pop3://alice@"+j.dc.POP3Addr, 1)
	starttls := filepath.Join(j.dir, "starttls.yaml")
	if err := os.WriteFile(starttls, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCommand(t, j.env, "check", "--config", starttls)
	t.Logf("mailferry check, STARTTLS:\n%s", out)
	if code != exitOK {
		t.Fatalf("exit %d, want 0", code)
	}
	wantLines(t, out, "target imap://bob@"+j.dc.IMAPAddr+"\n  login:        ok (STARTTLS)\n  tls:          TLS 1.3",
		"source pop3://alice@"+j.dc.POP3Addr+"\n  login:        ok (STLS)\n  tls:          TLS 1.3")

	// An untrusted certificate: check fails on it (exit 3); accepted with
	// tls_skip_verify, it says that nothing was verified.
	text = strings.Replace(string(cfg), "  ca_file: "+j.dc.CAFile+"\nsources:", "sources:", 1)
	untrusted := filepath.Join(j.dir, "untrusted.yaml")
	if err := os.WriteFile(untrusted, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCommand(t, j.env, "check", "--config", untrusted)
	t.Logf("mailferry check, untrusted target:\n%s", out)
	if code != exitConnect {
		t.Fatalf("exit %d, want %d", code, exitConnect)
	}
	wantLines(t, out, "login:        FAILED (implicit TLS)", "certificate:  subject CN=localhost", "fingerprint:  sha256:",
		"not trusted: compare the fingerprint")
	text = strings.Replace(text, "sources:", "  tls_skip_verify: true\nsources:", 1)
	if err := os.WriteFile(untrusted, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCommand(t, j.env, "check", "--config", untrusted)
	if code != exitOK {
		t.Fatalf("tls_skip_verify: exit %d, want 0:\n%s", code, out)
	}
	wantLines(t, out, "fingerprint:  sha256:", "not verified (tls_skip_verify)")
	j.unchanged(t)
}

func TestDovecotCheckFails(t *testing.T) {
	j := newPlanJob(t)
	for name, env := range map[string][]string{
		"wrong target password": {"MAILFERRY_TARGET_PASSWORD=wrong"},
		"wrong source password": {"MAILFERRY_SOURCE_PASSWORD=wrong"},
	} {
		t.Run(name, func(t *testing.T) {
			code, out := runCommand(t, append(append([]string(nil), j.env...), env...), "check", "--config", j.config)
			t.Logf("mailferry check:\n%s", out)
			if code != exitConnect {
				t.Fatalf("exit %d, want %d", code, exitConnect)
			}
			wantLines(t, out, "FAILED")
		})
	}
	t.Run("unreachable port", func(t *testing.T) {
		cfg, err := os.ReadFile(j.config)
		if err != nil {
			t.Fatal(err)
		}
		bad := filepath.Join(j.dir, "closed.yaml")
		text := strings.Replace(string(cfg), j.dc.IMAPSAddr, closedPort(t), 1)
		if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		code, out := runCommand(t, j.env, "check", "--config", bad)
		t.Logf("mailferry check:\n%s", out)
		if code != exitConnect {
			t.Fatalf("exit %d, want %d", code, exitConnect)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
		// The sources are checked even so.
		wantLines(t, out, "login:        FAILED", "maildrop:     3 messages", "No folder plan")
	})
	t.Run("config error", func(t *testing.T) {
		code, out := runCommand(t, j.env, "check", "--config", j.config, "--dedup", "sometimes")
		if code != exitUsage {
			t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, out)
		}
	})
	j.unchanged(t)
}
