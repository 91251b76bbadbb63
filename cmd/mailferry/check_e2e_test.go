package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
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
