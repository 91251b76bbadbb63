package job

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/migrate"
)

func presetDovecot(t *testing.T, n int, big int) (*dovecottest.Server, []byte) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Users: []dovecottest.User{{Name: "bob", Password: "pw"}, {Name: "carol", Password: "pw"}}})
	var msgs [][]byte
	for i := range n {
		body := "body\r\n"
		if i == big {
			body = strings.Repeat("large body line\r\n", 40)
		}
		msgs = append(msgs, fmt.Appendf(nil, "From: a@example.org\r\nSubject: m%d\r\nMessage-ID: <%d@example.org>\r\n\r\n%s", i, i, body))
	}
	dc.Seed(t, "bob", "", msgs)
	return dc, msgs[0]
}

func presetJob(dc *dovecottest.Server, preset, statePath string) Config {
	pw := func(context.Context, string) (string, error) { return "pw", nil }
	return Config{State: statePath, Dedup: migrate.DedupAccount, Settle: time.Millisecond,
		Target: Server{URL: "imap://carol@" + dc.IMAPAddr, TLS: "none", AllowPlaintext: true, Connections: 1,
			Password: pw, Preset: preset},
		Sources: []Source{{Server: Server{URL: "pop3://bob@" + dc.POP3Addr, TLS: "none", AllowPlaintext: true, Password: pw}}}}
}

func runPresetJob(t *testing.T, c Config) (*migrate.Report, error) {
	t.Helper()
	j, err := Build(context.Background(), c, discard)
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	defer j.Close()
	return j.Migrator.Run(context.Background())
}

// A message over the preset's size cap fails alone, unsent; the others go.
func TestDovecotPresetSizeCap(t *testing.T) {
	dc, _ := presetDovecot(t, 3, 1)
	testMaxMessageSize = 300
	t.Cleanup(func() { testMaxMessageSize = 0 })
	rep, err := runPresetJob(t, presetJob(dc, "microsoft365", filepath.Join(t.TempDir(), "s.db")))
	if err != nil || rep.Failed() != 1 || rep.Copied != 2 {
		t.Fatalf("Run() = %+v, %v; want 2 copied, 1 failed", rep, err)
	}
	if got := dc.Fetch(t, "carol", "INBOX"); len(got) != 2 {
		t.Errorf("carol's INBOX has %d messages, want 2", len(got))
	}
}

// The daily upload quota stops a run cleanly (a connect-class error that
// says when to run again); a run within the same day sends nothing more;
// a run a day later sends the rest, with no message lost or doubled.
func TestDovecotPresetQuotaStop(t *testing.T) {
	dc, first := presetDovecot(t, 3, -1)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	testNow = func() time.Time { return now }
	testDailyQuota = int64(2*len(first) + 10) // two messages, not three
	t.Cleanup(func() { testNow, testDailyQuota = nil, 0 })
	c := presetJob(dc, "gmail", filepath.Join(t.TempDir(), "s.db"))

	rep, err := runPresetJob(t, c)
	if migrate.ClassOf(err) != migrate.ClassConnect || !strings.Contains(err.Error(), "run again after 2026-01-02T12:01:00Z") {
		t.Fatalf("run 1: %v, want the quota stop", err)
	}
	if n := len(dc.Fetch(t, "carol", "INBOX")); rep.Copied != 2 || n != 2 {
		t.Errorf("run 1 copied %d, carol has %d; want 2", rep.Copied, n)
	}
	now = now.Add(time.Hour)
	rep, err = runPresetJob(t, c)
	if migrate.ClassOf(err) != migrate.ClassConnect || rep.Copied != 0 {
		t.Fatalf("run 2 (same day): %+v, %v; want the quota stop, nothing copied", rep, err)
	}
	now = now.Add(24 * time.Hour)
	rep, err = runPresetJob(t, c)
	if err != nil || rep.Copied != 1 || rep.Failed() != 0 {
		t.Fatalf("run 3 (a day later): %+v, %v; want the last message copied", rep, err)
	}
	if got := dc.Fetch(t, "carol", "INBOX"); len(got) != 3 {
		t.Errorf("carol's INBOX has %d messages, want 3", len(got))
	}
}
