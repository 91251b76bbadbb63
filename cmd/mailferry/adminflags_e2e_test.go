package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// runSub runs mailferry's subcommand sub as a child process with env added.
func runSub(t *testing.T, env []string, sub string, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{sub}, args...)...)
	cmd.Env = append(append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("mailferry did not exit: %v", err)
	}
	if strings.Contains(string(out), adminPass) {
		t.Fatalf("output shows the admin password:\n%s", out)
	}
	return code, string(out)
}

// TestDovecotAdminFlags logs in with Dovecot's master user given only by
// flags: a config without admin keys fails with the admin's password
// (exit 3), and copies alice's mail into bob with --source-admin-user and
// --target-admin-user (check and verify take them too); mailferry batch
// with the same flags and --target-master-separator "*" copies it into
// carol.
func TestDovecotAdminFlags(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Users: []dovecottest.User{{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass},
			{Name: "carol", Password: "carol-secret"}},
		MasterUsers: []dovecottest.User{{Name: "admin", Password: adminPass}},
	})
	msgs := someMail("adminflags", 3)
	dc.Seed(t, "alice", "INBOX", msgs)
	dir := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "admin-password")
	if err := os.WriteFile(pwFile, []byte(adminPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"ADMIN_PW=" + adminPass}
	config := filepath.Join(dir, "mailferry.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`state: bob.db
target:
  url: imaps://bob@%s
  ca_file: %s
  password_env: ADMIN_PW
sources:
  - url: pop3s://alice@%s
    ca_file: %s
    password_file: %s
`, dc.IMAPSAddr, dc.CAFile, dc.POP3SAddr, dc.CAFile, pwFile)), 0o600)

	if code, out := runSub(t, env, "migrate", "--config", config); code != exitConnect {
		t.Fatalf("without admin flags: exit %d, want %d:\n%s", code, exitConnect, out)
	}
	flags := []string{"--config", config, "--source-admin-user", "admin", "--target-admin-user", "admin"}
	if code, out := runSub(t, env, "check", flags...); code != exitOK {
		t.Fatalf("check: exit %d, want 0:\n%s", code, out)
	}
	if code, out := runSub(t, env, "migrate", flags...); code != exitOK {
		t.Fatalf("migrate: exit %d, want 0:\n%s", code, out)
	}
	if n := len(dc.Fetch(t, "bob", "INBOX")); n != len(msgs) {
		t.Fatalf("bob: %d messages, want %d", n, len(msgs))
	}
	if code, out := runSub(t, env, "verify", flags...); code != exitOK {
		t.Fatalf("verify: exit %d, want 0:\n%s", code, out)
	}

	base := filepath.Join(dir, "base.yaml")
	os.WriteFile(base, []byte(fmt.Sprintf("state_dir: state\ntarget:\n  url: imaps://%s\n  ca_file: %s\nsources:\n  - ca_file: %s\n",
		dc.IMAPSAddr, dc.CAFile, dc.CAFile)), 0o600)
	accounts := filepath.Join(dir, "users.csv")
	os.WriteFile(accounts, []byte(fmt.Sprintf("source_url,source_user,target_user,source_password_file,target_password_env\n"+
		"pop3s://%s,alice,carol,%s,ADMIN_PW\n", dc.POP3SAddr, pwFile)), 0o600)
	if code, out := runSub(t, env, "batch", "--config", base, "--accounts", accounts,
		"--source-admin-user", "admin", "--target-admin-user", "admin", "--target-master-separator", "*"); code != exitOK {
		t.Fatalf("batch: exit %d, want 0:\n%s", code, out)
	}
	if n := len(dc.Fetch(t, "carol", "INBOX")); n != len(msgs) {
		t.Fatalf("carol: %d messages, want %d", n, len(msgs))
	}
}
