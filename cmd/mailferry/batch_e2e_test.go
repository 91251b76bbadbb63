package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// runBatchCmd runs mailferry batch as a child process with env added.
func runBatchCmd(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"batch"}, args...)...)
	cmd.Env = append(append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("mailferry did not exit: %v", err)
	}
	return code, string(out)
}

// readResults reads a results CSV, by account.
func readResults(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = row[i]
		}
		got[m["account"]] = m
	}
	return got
}

// TestDovecotBatch migrates 6 accounts of one Dovecot with --parallel 3,
// one with a wrong POP3 password: 5 complete, 1 is reported with its
// reason, exit 3; a re-run with the password fixed and a new message in
// one maildrop copies only what is new.
func TestDovecotBatch(t *testing.T) {
	var users []dovecottest.User
	for i := 1; i <= 6; i++ {
		users = append(users, dovecottest.User{Name: fmt.Sprintf("s%d", i), Password: fmt.Sprintf("src-Pw-%d", i)},
			dovecottest.User{Name: fmt.Sprintf("t%d", i), Password: fmt.Sprintf("tgt-Pw-%d", i)})
	}
	dc := dovecottest.Start(t, dovecottest.Options{Users: users})
	dir := t.TempDir()
	env := []string{}
	var accounts strings.Builder
	accounts.WriteString("\xef\xbb\xbfsource_url,source_user,target_user,source_password_env,target_password_env,target_password_file\n")
	for i := 1; i <= 6; i++ {
		var msgs [][]byte
		for j := range 3 {
			msgs = append(msgs, mail(fmt.Sprintf("<m%d-%d@batch.test>", i, j), fmt.Sprintf("s%d #%d", i, j), "hello"))
		}
		dc.Seed(t, fmt.Sprintf("s%d", i), "INBOX", msgs)
		pw := fmt.Sprintf("src-Pw-%d", i)
		if i == 4 {
			pw = "wrong-Pw"
		}
		env = append(env, fmt.Sprintf("BATCH_SRC_%d=%s", i, pw))
		if i%2 == 0 { // target password from a file
			pf := filepath.Join(dir, fmt.Sprintf("t%d.pw", i))
			os.WriteFile(pf, []byte(fmt.Sprintf("tgt-Pw-%d\n", i)), 0o600)
			fmt.Fprintf(&accounts, "pop3s://%s,s%d,t%d,BATCH_SRC_%d,,%s\n", dc.POP3SAddr, i, i, i, pf)
		} else {
			env = append(env, fmt.Sprintf("BATCH_TGT_%d=tgt-Pw-%d", i, i))
			fmt.Fprintf(&accounts, "pop3s://%s,s%d,t%d,BATCH_SRC_%d,BATCH_TGT_%d,\n", dc.POP3SAddr, i, i, i, i)
		}
	}
	csvPath := filepath.Join(dir, "users.csv")
	os.WriteFile(csvPath, []byte(accounts.String()), 0o600)
	config := filepath.Join(dir, "base.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`state_dir: state
max_connections_per_server: 6
target:
  url: imaps://%s
  ca_file: %s
  connections: 4
sources:
  - ca_file: %s
`, dc.IMAPSAddr, dc.CAFile, dc.CAFile)), 0o600)
	results := filepath.Join(dir, "results")

	code, out := runBatchCmd(t, env, "--config", config, "--accounts", csvPath, "--parallel", "3", "--results", results)
	if code != exitConnect {
		t.Fatalf("exit %d, want 3:\n%s", code, out)
	}
	t.Logf("first run:\n%s", out)
	for i := 1; i <= 6; i++ {
		if strings.Contains(out, fmt.Sprintf("Pw-%d", i)) {
			t.Fatalf("output shows a password:\n%s", out)
		}
	}
	files, _ := filepath.Glob(filepath.Join(results, "batch-*.csv"))
	jsonl, _ := filepath.Glob(filepath.Join(results, "batch-*.jsonl"))
	if len(files) != 1 || len(jsonl) != 1 {
		t.Fatalf("results %v %v, want one CSV and one JSON lines file", files, jsonl)
	}
	first := files[0]
	got := readResults(t, first)
	for i := 1; i <= 6; i++ {
		r := got[fmt.Sprintf("s%d -> t%d", i, i)]
		if i == 4 {
			if r["exit"] != "3" || !strings.Contains(r["error"], "auth") || r["copied"] != "0" {
				t.Errorf("s4: %v, want exit 3 with an authentication error", r)
			}
			continue
		}
		if r["exit"] != "0" || r["copied"] != "3" || r["failed"] != "0" || r["error"] != "" {
			t.Errorf("s%d: %v, want 3 copied", i, r)
		}
		if n := len(dc.Fetch(t, fmt.Sprintf("t%d", i), "INBOX")); n != 3 {
			t.Errorf("t%d: %d messages, want 3", i, n)
		}
	}
	b, _ := os.ReadFile(jsonl[0])
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 6 {
		t.Errorf("%d JSON lines, want 6:\n%s", len(lines), b)
	} else {
		var r map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &r); err != nil || r["account"] == nil || r["exit"] == nil {
			t.Errorf("JSON line %s: %v", lines[0], err)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "state", "logs", "*.log"))
	states, _ := filepath.Glob(filepath.Join(dir, "state", "*.db"))
	if len(logs) != 6 || len(states) != 6 {
		t.Errorf("%d account logs and %d state files, want 6 each", len(logs), len(states))
	}

	// Re-run: s4's password fixed, a new message for s1.
	dc.Seed(t, "s1", "INBOX", [][]byte{mail("<new@batch.test>", "new", "new")})
	env = append(env, "BATCH_SRC_4=src-Pw-4")
	code, out = runBatchCmd(t, env, "--config", config, "--accounts", csvPath, "--parallel", "3", "--results", results)
	if code != exitOK {
		t.Fatalf("re-run: exit %d, want 0:\n%s", code, out)
	}
	files, _ = filepath.Glob(filepath.Join(results, "batch-*.csv"))
	if len(files) != 2 {
		t.Fatalf("results %v, want a second CSV", files)
	}
	newest := files[0]
	if newest == first {
		newest = files[1]
	}
	got = readResults(t, newest)
	want := map[int]string{1: "1", 2: "0", 3: "0", 4: "3", 5: "0", 6: "0"}
	for i, w := range want {
		if r := got[fmt.Sprintf("s%d -> t%d", i, i)]; r["exit"] != "0" || r["copied"] != w {
			t.Errorf("re-run s%d: %v, want %s copied", i, r, w)
		}
	}
	if n := len(dc.Fetch(t, "t1", "INBOX")); n != 4 {
		t.Errorf("t1: %d messages, want 4", n)
	}
}
