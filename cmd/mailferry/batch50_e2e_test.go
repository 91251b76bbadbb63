//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// The fleet of TestBatch50: 50 POP3 maildrops moved into 50 IMAP
// accounts of one Dovecot; account badAuth's password file holds a wrong
// password, account fullDisk's state_dir is a full tmpfs.
const (
	fleet     = 50
	fleetMsgs = 10
	badAuth   = 7
	fullDisk  = 23
)

func fleetSrcPw(i int) string { return fmt.Sprintf("fleetSrc-%02d-QzPw", i) }
func fleetTgtPw(i int) string { return fmt.Sprintf("fleetTgt-%02d-KxPw", i) }
func fleetName(i int) string  { return fmt.Sprintf("s%02d -> t%02d", i, i) }

// fullTmpfs mounts a 64 KiB tmpfs and fills it: a file created there can
// get no data.
func fullTmpfs(t *testing.T) string {
	t.Helper()
	dir, err := mountTmpfs(t, "size=64k")
	if err != nil {
		noFault(t, "%v", err)
	}
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for range 64 { // bounded: 64 KiB at most
		if _, err = f.Write(block); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling %s: %v, want ENOSPC", dir, err)
	}
	return dir
}

// fleetRun is one `mailferry batch` of TestBatch50: its exit code, output
// and the results it wrote (the CSV by account, the JSON lines by account).
type fleetRun struct {
	code  int
	out   string
	csv   map[string]map[string]string
	jsonl map[string]map[string]any
	files []string
}

// TestBatch50 is issue 12's fleet: 50 Dovecot accounts with --parallel 8
// and a per-server connection cap, one with a wrong password (exit class
// 3, an authentication error) and one whose state_dir is a full disk
// (exit class 1, no space left). The 48 others complete, each message
// once in its target; the batch exits with the worst class; the results
// files name both failures and their reasons; no password shows. A
// re-run after 3 new messages copies only those; once both accounts are
// fixed a run completes them all with exit 0.
func TestBatch50(t *testing.T) {
	var users []dovecottest.User
	for i := 1; i <= fleet; i++ {
		users = append(users, dovecottest.User{Name: fmt.Sprintf("s%02d", i), Password: fleetSrcPw(i)},
			dovecottest.User{Name: fmt.Sprintf("t%02d", i), Password: fleetTgtPw(i)})
	}
	dc := dovecottest.Start(t, dovecottest.Options{Users: users})
	dir := t.TempDir()
	full := fullTmpfs(t)

	sent := map[int][][]byte{}
	var accounts strings.Builder
	accounts.WriteString("source_url,source_user,target_user,source_password_file,target_password_env,state_dir\n")
	env := []string{}
	for i := 1; i <= fleet; i++ {
		for j := range fleetMsgs {
			sent[i] = append(sent[i], mail(fmt.Sprintf("f%02d-%02d@fleet.test", i, j), fmt.Sprintf("s%02d #%d", i, j),
				strings.Repeat(fmt.Sprintf("account %d message %d\r\n", i, j), 5+j)))
		}
		dc.Seed(t, fmt.Sprintf("s%02d", i), "INBOX", sent[i])
		pw := fleetSrcPw(i)
		if i == badAuth {
			pw = "fleetWrong-QzPw"
		}
		pf := filepath.Join(dir, fmt.Sprintf("s%02d.pw", i))
		if err := os.WriteFile(pf, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, fmt.Sprintf("FLEET_TGT_%d=%s", i, fleetTgtPw(i)))
		stateDir := ""
		if i == fullDisk {
			stateDir = full
		}
		fmt.Fprintf(&accounts, "pop3s://%s,s%02d,t%02d,%s,FLEET_TGT_%d,%s\n", dc.POP3SAddr, i, i, pf, i, stateDir)
	}
	csvPath := filepath.Join(dir, "users.csv")
	config := filepath.Join(dir, "base.yaml")
	results := filepath.Join(dir, "results")
	for path, text := range map[string]string{
		csvPath: accounts.String(),
		config: fmt.Sprintf(`state_dir: state
max_connections_per_server: 12
target:
  url: imaps://%s
  ca_file: %s
  connections: 2
sources:
  - ca_file: %s
`, dc.IMAPSAddr, dc.CAFile, dc.CAFile),
	} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	secrets := []string{"fleetWrong-QzPw"}
	for i := 1; i <= fleet; i++ {
		secrets = append(secrets, fleetSrcPw(i), fleetTgtPw(i))
	}
	var seen []string // results files of earlier runs
	run := func(what string) fleetRun {
		t.Helper()
		code, out := runBatchCmd(t, env, "--config", config, "--accounts", csvPath, "--parallel", "8", "--results", results)
		r := fleetRun{code: code, out: out, jsonl: map[string]map[string]any{}}
		all, _ := filepath.Glob(filepath.Join(results, "batch-*"))
		var csvs, jsonls []string
		for _, f := range all {
			if slices.Contains(seen, f) {
				continue
			}
			seen = append(seen, f)
			r.files = append(r.files, f)
			switch filepath.Ext(f) {
			case ".csv":
				csvs = append(csvs, f)
			case ".jsonl":
				jsonls = append(jsonls, f)
			}
		}
		if len(csvs) != 1 || len(jsonls) != 1 {
			t.Fatalf("%s: new results files %v, want one CSV and one JSON lines file:\n%s", what, r.files, out)
		}
		r.csv = readResults(t, csvs[0])
		b, err := os.ReadFile(jsonls[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%s: JSON line %q: %v", what, line, err)
			}
			r.jsonl[fmt.Sprint(m["account"])] = m
		}
		if len(r.csv) != fleet || len(r.jsonl) != fleet {
			t.Fatalf("%s: %d CSV rows and %d JSON lines, want %d each", what, len(r.csv), len(r.jsonl), fleet)
		}
		// No password in the output, the results or the accounts' logs.
		texts := map[string]string{"output": out}
		logs, _ := filepath.Glob(filepath.Join(dir, "state", "logs", "*.log"))
		if len(logs) != fleet {
			t.Fatalf("%s: %d account logs, want %d", what, len(logs), fleet)
		}
		for _, f := range append(logs, r.files...) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			texts[f] = string(b)
		}
		for name, text := range texts {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Fatalf("%s: %s shows a password", what, name)
				}
			}
		}
		return r
	}
	// wantFailed checks that account i is reported failed in both results
	// files with exit class code and an error saying why.
	wantFailed := func(what string, r fleetRun, i, code int, why string) {
		t.Helper()
		c, j := r.csv[fleetName(i)], r.jsonl[fleetName(i)]
		if c["exit"] != fmt.Sprint(code) || !strings.Contains(c["error"], why) || c["copied"] != "0" {
			t.Errorf("%s: CSV %s: %v, want exit %d, copied 0, an error with %q", what, fleetName(i), c, code, why)
		}
		if j["exit"] != float64(code) || !strings.Contains(fmt.Sprint(j["error"]), why) {
			t.Errorf("%s: JSON %s: %v, want exit %d, an error with %q", what, fleetName(i), j, code, why)
		}
	}
	// wantCopied checks that account i completed, copying n messages.
	wantCopied := func(what string, r fleetRun, i, n int) {
		t.Helper()
		c, j := r.csv[fleetName(i)], r.jsonl[fleetName(i)]
		if c["exit"] != "0" || c["copied"] != fmt.Sprint(n) || c["failed"] != "0" || c["error"] != "" {
			t.Errorf("%s: CSV %s: %v, want exit 0, %d copied", what, fleetName(i), c, n)
		}
		if j["exit"] != 0.0 || j["copied"] != float64(n) {
			t.Errorf("%s: JSON %s: %v, want exit 0, %d copied", what, fleetName(i), j, n)
		}
	}
	// wantTarget checks that t<i> holds each message sent to s<i> once and
	// nothing else, by count and by Message-ID.
	msgID := regexp.MustCompile(`(?im)^Message-ID: *<([^>]*)>`)
	wantTarget := func(what string, i int) {
		t.Helper()
		got := dc.Fetch(t, fmt.Sprintf("t%02d", i), "INBOX")
		var ids, want []string
		for _, m := range got {
			if id := msgID.FindSubmatch(m.Body); id != nil {
				ids = append(ids, string(id[1]))
			}
		}
		for _, m := range sent[i] {
			want = append(want, string(msgID.FindSubmatch(m)[1]))
		}
		slices.Sort(ids)
		slices.Sort(want)
		if len(got) != len(sent[i]) || !slices.Equal(ids, want) {
			t.Errorf("%s: t%02d holds %d messages %v, want %v", what, i, len(got), ids, want)
		}
	}

	first := run("first run")
	if first.code != exitConnect {
		t.Fatalf("first run: exit %d, want %d (the worst account's):\n%s", first.code, exitConnect, first.out)
	}
	t.Logf("first run: %s: %s; %s: %s", fleetName(badAuth), first.csv[fleetName(badAuth)]["error"],
		fleetName(fullDisk), first.csv[fleetName(fullDisk)]["error"])
	wantFailed("first run", first, badAuth, exitConnect, "auth")
	wantFailed("first run", first, fullDisk, exitFailed, "no space left on device")
	for i := 1; i <= fleet; i++ {
		if i == badAuth || i == fullDisk {
			if n := len(dc.Fetch(t, fmt.Sprintf("t%02d", i), "INBOX")); n != 0 {
				t.Errorf("first run: t%02d holds %d messages, want none", i, n)
			}
			continue
		}
		wantCopied("first run", first, i, fleetMsgs)
		wantTarget("first run", i)
	}
	if t.Failed() {
		t.Fatalf("first run:\n%s", first.out)
	}

	// New mail in 3 accounts: a re-run copies those 3 messages alone, and
	// the two failures fail again.
	fresh := []int{2, 30, 50}
	for _, i := range fresh {
		m := mail(fmt.Sprintf("f%02d-new@fleet.test", i), "new", "new mail\r\n")
		sent[i] = append(sent[i], m)
		dc.Seed(t, fmt.Sprintf("s%02d", i), "INBOX", [][]byte{m})
	}
	second := run("re-run")
	if second.code != exitConnect {
		t.Fatalf("re-run: exit %d, want %d:\n%s", second.code, exitConnect, second.out)
	}
	wantFailed("re-run", second, badAuth, exitConnect, "auth")
	wantFailed("re-run", second, fullDisk, exitFailed, "no space left on device")
	for i := 1; i <= fleet; i++ {
		if i == badAuth || i == fullDisk {
			continue
		}
		n := 0
		if slices.Contains(fresh, i) {
			n = 1
		}
		wantCopied("re-run", second, i, n)
		wantTarget("re-run", i)
	}
	if t.Failed() {
		t.Fatalf("re-run:\n%s", second.out)
	}

	// Both fixed: the right password, a disk with room.
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%02d.pw", badAuth)), []byte(fleetSrcPw(badAuth)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	remountTmpfs(t, full, "size=8m")
	third := run("fixed")
	if third.code != exitOK {
		t.Fatalf("fixed: exit %d, want 0:\n%s", third.code, third.out)
	}
	for i := 1; i <= fleet; i++ {
		n := 0
		if i == badAuth || i == fullDisk {
			n = fleetMsgs
		}
		wantCopied("fixed", third, i, n)
		wantTarget("fixed", i)
	}
	state := third.csv[fleetName(fullDisk)]["state"]
	if _, err := os.Stat(state); err != nil || filepath.Dir(state) != full {
		t.Errorf("the state file of %s is %q (%v), want one in its state_dir %s", fleetName(fullDisk), state, err, full)
	}
}
