package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// TestDovecotBatchImapsync runs an imapsync-format accounts file (mode
// 0644: a warning) of 3 accounts, one with a wrong POP3 password, against
// Dovecot; host2 replaces the base target's host and port. No password
// shows in the output, the results or the accounts' logs.
func TestDovecotBatchImapsync(t *testing.T) {
	var users []dovecottest.User
	for i := 1; i <= 3; i++ {
		users = append(users, dovecottest.User{Name: fmt.Sprintf("s%d", i), Password: fmt.Sprintf("src-Secret-%d", i)},
			dovecottest.User{Name: fmt.Sprintf("t%d", i), Password: fmt.Sprintf("tgt-Secret-%d", i)})
	}
	dc := dovecottest.Start(t, dovecottest.Options{Users: users})
	dir := t.TempDir()
	var list strings.Builder
	list.WriteString("# host1;user1;password1;host2;user2;password2;\n\n")
	for i := 1; i <= 3; i++ {
		dc.Seed(t, fmt.Sprintf("s%d", i), "INBOX", [][]byte{mail(fmt.Sprintf("<m%d@imapsync.test>", i), "hi", "hello")})
		pw := fmt.Sprintf("src-Secret-%d", i)
		if i == 2 {
			pw = "src-Secret-WRONG"
		}
		fmt.Fprintf(&list, "%s;s%d;%s;%s;t%d;tgt-Secret-%d;\n", dc.POP3SAddr, i, pw, dc.IMAPSAddr, i, i)
	}
	accounts := filepath.Join(dir, "users.txt")
	os.WriteFile(accounts, []byte(list.String()), 0o600)
	os.Chmod(accounts, 0o644)
	config := filepath.Join(dir, "base.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("state_dir: state\ntarget:\n  url: imaps://placeholder.invalid:1\n  ca_file: %s\nsources:\n  - ca_file: %s\n",
		dc.CAFile, dc.CAFile)), 0o600)
	results := filepath.Join(dir, "results")
	code, out := runBatchCmd(t, nil, "--config", config, "--accounts", accounts, "--accounts-format", "imapsync",
		"--parallel", "2", "--results", results)
	if code != exitConnect {
		t.Fatalf("exit %d, want 3:\n%s", code, out)
	}
	if !strings.Contains(out, "chmod 600") {
		t.Errorf("no warning for a 0644 accounts file:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(results, "batch-*"))
	logs, _ := filepath.Glob(filepath.Join(dir, "state", "logs", "*.log"))
	all := out
	for _, f := range append(files, logs...) {
		b, _ := os.ReadFile(f)
		all += string(b)
	}
	if strings.Contains(all, "Secret-") {
		t.Errorf("a password in the output, results or logs:\n%s", all)
	}
	csvs, _ := filepath.Glob(filepath.Join(results, "batch-*.csv"))
	if len(csvs) != 1 {
		t.Fatalf("results %v", csvs)
	}
	got := readResults(t, csvs[0])
	for i := 1; i <= 3; i++ {
		r := got[fmt.Sprintf("s%d -> t%d", i, i)]
		if i == 2 {
			if r["exit"] != "3" {
				t.Errorf("s2: %v, want exit 3", r)
			}
			continue
		}
		if r["exit"] != "0" || r["copied"] != "1" {
			t.Errorf("s%d: %v", i, r)
		}
		if n := len(dc.Fetch(t, fmt.Sprintf("t%d", i), "INBOX")); n != 1 {
			t.Errorf("t%d: %d messages, want 1", i, n)
		}
	}
	if code, out := runBatchCmd(t, nil, "--config", config, "--accounts", accounts, "--accounts-format", "xml"); code != exitUsage {
		t.Errorf("--accounts-format xml: exit %d, want 2:\n%s", code, out)
	}
}
