package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// TestDovecotBatchShards runs the Indexed Job contract locally: 3
// processes of mailferry batch --shards 3, JOB_COMPLETION_INDEX=0..2, at
// once on one accounts file and one state_dir: every account runs exactly
// once over them, each in the shard its results file names.
func TestDovecotBatchShards(t *testing.T) {
	const accounts, shards = 9, 3
	var users []dovecottest.User
	for i := 1; i <= accounts; i++ {
		users = append(users, dovecottest.User{Name: fmt.Sprintf("s%d", i), Password: fmt.Sprintf("src-Pw-%d", i)},
			dovecottest.User{Name: fmt.Sprintf("t%d", i), Password: fmt.Sprintf("tgt-Pw-%d", i)})
	}
	dc := dovecottest.Start(t, dovecottest.Options{Users: users})
	dir := t.TempDir()
	var env []string
	var list strings.Builder
	list.WriteString("source_url,source_user,target_user,source_password_env,target_password_env\n")
	for i := 1; i <= accounts; i++ {
		dc.Seed(t, fmt.Sprintf("s%d", i), "INBOX", [][]byte{mail(fmt.Sprintf("<m%d@shard.test>", i), "hi", "hello")})
		env = append(env, fmt.Sprintf("SH_SRC_%d=src-Pw-%d", i, i), fmt.Sprintf("SH_TGT_%d=tgt-Pw-%d", i, i))
		fmt.Fprintf(&list, "pop3s://%s,s%d,t%d,SH_SRC_%d,SH_TGT_%d\n", dc.POP3SAddr, i, i, i, i)
	}
	csvPath := filepath.Join(dir, "users.csv")
	os.WriteFile(csvPath, []byte(list.String()), 0o600)
	config := filepath.Join(dir, "base.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("state_dir: state\ntarget:\n  url: imaps://%s\n  ca_file: %s\nsources:\n  - ca_file: %s\n",
		dc.IMAPSAddr, dc.CAFile, dc.CAFile)), 0o600)
	results := filepath.Join(dir, "results")
	args := []string{"--config", config, "--accounts", csvPath, "--parallel", "2", "--results", results, "--shards", fmt.Sprint(shards)}

	var wg sync.WaitGroup
	codes, outs := make([]int, shards), make([]string, shards)
	for i := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], outs[i] = runBatchCmd(t, append(env[:len(env):len(env)], fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)), args...)
		}()
	}
	wg.Wait()
	ran := map[string]string{}
	total := 0
	for i := range shards {
		if codes[i] != exitOK {
			t.Fatalf("shard %d: exit %d:\n%s", i, codes[i], outs[i])
		}
		if !strings.Contains(outs[i], fmt.Sprintf("batch: shard %d/%d, ", i, shards)) {
			t.Errorf("shard %d: the summary does not name the shard:\n%s", i, outs[i])
		}
		files, _ := filepath.Glob(filepath.Join(results, fmt.Sprintf("batch-*-shard-%d-of-%d.csv", i, shards)))
		if len(files) != 1 {
			t.Fatalf("shard %d: results %v, want one", i, files)
		}
		for acc, r := range readResults(t, files[0]) {
			total++
			if prev, dup := ran[acc]; dup {
				t.Errorf("%s ran in shards %s and %s", acc, prev, r["shard"])
			}
			ran[acc] = r["shard"]
			if r["shard"] != fmt.Sprintf("%d/%d", i, shards) || r["exit"] != "0" || r["copied"] != "1" {
				t.Errorf("shard %d: %s: %v", i, acc, r)
			}
		}
	}
	if total != accounts || len(ran) != accounts {
		t.Errorf("%d results for %d accounts, want %d: %v", total, len(ran), accounts, ran)
	}
	for i := 1; i <= accounts; i++ {
		if n := len(dc.Fetch(t, fmt.Sprintf("t%d", i), "INBOX")); n != 1 {
			t.Errorf("t%d: %d messages, want 1", i, n)
		}
	}

	// --shard /3 takes its index from JOB_COMPLETION_INDEX as --shards 3
	// does: index 1 re-runs exactly shard 1's accounts, nothing new to copy.
	again := filepath.Join(dir, "again")
	code, out := runBatchCmd(t, append(env[:len(env):len(env)], "JOB_COMPLETION_INDEX=1"),
		"--config", config, "--accounts", csvPath, "--results", again, "--shard", "/3")
	if code != exitOK || !strings.Contains(out, "batch: shard 1/3, ") {
		t.Fatalf("--shard /3, index 1: exit %d, want 0 naming shard 1/3:\n%s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(again, "batch-*-shard-1-of-3.csv"))
	if len(files) != 1 {
		t.Fatalf("--shard /3: results %v, want one", files)
	}
	got := readResults(t, files[0])
	for acc, sh := range ran {
		if _, in := got[acc]; in != (sh == "1/3") {
			t.Errorf("--shard /3, index 1: %s (shard %s) run %v", acc, sh, in)
		}
	}
	for acc, r := range got {
		if r["shard"] != "1/3" || r["exit"] != "0" || r["copied"] != "0" {
			t.Errorf("--shard /3: %s: %v, want shard 1/3, nothing new copied", acc, r)
		}
	}

	// Usage errors: exit 2 before anything runs.
	for _, bad := range [][]string{
		{"--shard", "3/3"}, {"--shard", "0/0"}, {"--shards", "0"}, {"--shards", "3", "--shard", "1/3"},
	} {
		a := append([]string{"--config", config, "--accounts", csvPath}, bad...)
		if code, out := runBatchCmd(t, env, a...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2:\n%s", bad, code, out)
		}
	}
	if code, out := runBatchCmd(t, append(env[:len(env):len(env)], "JOB_COMPLETION_INDEX=3"),
		"--config", config, "--accounts", csvPath, "--shards", "3"); code != exitUsage {
		t.Errorf("index 3 of 3: exit %d, want 2:\n%s", code, out)
	}
}
