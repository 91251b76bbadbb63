package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// TestDovecotBatchOverrides runs mailferry batch on two accounts with the
// same maildrop (a small message twice, a 40 KiB one) and different
// settings columns: s1 with source.max_message_size 10k (the big one
// left out, the second small one a duplicate under the base's dedup), s2
// with dedup off and its own folder (all three copied there). A
// plaintext password column is refused, naming it.
func TestDovecotBatchOverrides(t *testing.T) {
	users := []dovecottest.User{{Name: "s1", Password: "src-Pw-1"}, {Name: "t1", Password: "tgt-Pw-1"},
		{Name: "s2", Password: "src-Pw-2"}, {Name: "t2", Password: "tgt-Pw-2"}}
	dc := dovecottest.Start(t, dovecottest.Options{Users: users})
	dir := t.TempDir()
	small := mail("<small@over.test>", "small", "hello")
	big := mail("<big@over.test>", "big", strings.Repeat("0123456789abcdef\r\n", 40<<10/18))
	for _, u := range []string{"s1", "s2"} {
		dc.Seed(t, u, "INBOX", [][]byte{small, big, small})
	}
	env := []string{"OV_S1=src-Pw-1", "OV_T1=tgt-Pw-1", "OV_S2=src-Pw-2", "OV_T2=tgt-Pw-2"}
	config := filepath.Join(dir, "base.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`state_dir: state
dedup: account
target:
  url: imaps://%s
  ca_file: %s
sources:
  - ca_file: %s
`, dc.IMAPSAddr, dc.CAFile, dc.CAFile)), 0o600)
	csvPath := filepath.Join(dir, "users.csv")
	os.WriteFile(csvPath, []byte(fmt.Sprintf(
		"source_url,source_user,target_user,source_password_env,target_password_env,folder,dedup,source.max_message_size,target.connections\n"+
			"pop3s://%s,s1,t1,OV_S1,OV_T1,,,10k,\n"+
			"pop3s://%s,s2,t2,OV_S2,OV_T2,Archive,off,,1\n", dc.POP3SAddr, dc.POP3SAddr)), 0o600)
	results := filepath.Join(dir, "results")
	code, out := runBatchCmd(t, env, "--config", config, "--accounts", csvPath, "--results", results)
	if code != exitOK {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(results, "batch-*.csv"))
	if len(files) != 1 {
		t.Fatalf("results %v", files)
	}
	got := readResults(t, files[0])
	if r := got["s1 -> t1"]; r["copied"] != "1" || r["duplicates"] != "1" {
		t.Errorf("s1: %v, want 1 copied, 1 duplicate (the big one filtered)", r)
	}
	if r := got["s2 -> t2"]; r["copied"] != "3" || r["duplicates"] != "0" {
		t.Errorf("s2: %v, want 3 copied, none a duplicate", r)
	}
	if n := len(dc.Fetch(t, "t1", "INBOX")); n != 1 {
		t.Errorf("t1 INBOX: %d messages, want 1", n)
	}
	if n := len(dc.Fetch(t, "t2", "Archive")); n != 3 {
		t.Errorf("t2 Archive: %d messages, want 3", n)
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("source_url,source_user,target_user,source_password_env,target_password\n"+
		"pop3s://"+dc.POP3SAddr+",s1,t1,OV_S1,tgt-Pw-1\n"), 0o600)
	code, out = runBatchCmd(t, env, "--config", config, "--accounts", bad, "--results", results)
	if code != exitUsage || !strings.Contains(out, "target_password") || !strings.Contains(out, "target_password_env") ||
		strings.Contains(out, "tgt-Pw-1") {
		t.Errorf("plaintext password column: exit %d, want 2 naming the column, without the password:\n%s", code, out)
	}
}
