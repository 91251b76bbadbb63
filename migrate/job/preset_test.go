package job

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

func presetConfig(target, source string) Config {
	return Config{State: "s.db", Dedup: migrate.DedupAccount,
		Target:  Server{URL: target, Connections: 8},
		Sources: []Source{{Server: Server{URL: source}}}}
}

func TestPresetFillsHostPortAndTLS(t *testing.T) {
	for _, tc := range []struct {
		preset, url, proto, want string
	}{
		{"gmail", "alice@gmail.com", "imap", "imaps://alice%40gmail.com@imap.gmail.com:993"},
		{"gmail", "imaps://alice@", "imap", "imaps://alice@imap.gmail.com:993"},
		{"gmail", "imap://alice@", "imap", "imaps://alice@imap.gmail.com:993"},
		{"gmail", "alice", "pop3", "pop3s://alice@pop.gmail.com:995"},
		{"microsoft365", "imaps://bob@", "imap", "imaps://bob@outlook.office365.com:993"},
		{"microsoft365", "pop3s://bob@", "pop3", "pop3s://bob@outlook.office365.com:995"},
		{"fastmail", "carol", "imap", "imaps://carol@imap.fastmail.com:993"},
		{"fastmail", "pop3s://carol@", "pop3", "pop3s://carol@pop.fastmail.com:995"},
		// What the user wrote wins.
		{"gmail", "imap://alice@mail.example.org:1143", "imap", "imap://alice@mail.example.org:1143"},
		{"fastmail", "pop3://carol@localhost", "pop3", "pop3://carol@localhost"},
	} {
		s := Server{URL: tc.url}
		s.applyPreset(Presets[tc.preset], tc.proto)
		if s.URL != tc.want {
			t.Errorf("%s %s %q: URL %q, want %q", tc.preset, tc.proto, tc.url, s.URL, tc.want)
		}
		if _, err := s.Parse(tc.proto); err != nil {
			t.Errorf("%s %q: %v", tc.preset, tc.url, err)
		}
	}
}

func TestPresetValidateAndCaps(t *testing.T) {
	c := presetConfig("imaps://alice@", "pop3s://alice@")
	c.Target.Preset, c.Sources[0].Preset = "gmail", "GMail"
	c.Target.Connections = 40
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	a, _ := c.Target.Parse("imap")
	if a.Addr != "imap.gmail.com:993" || !a.Implicit {
		t.Errorf("target %+v", a)
	}
	if c.Target.Connections != 15 {
		t.Errorf("connections %d, want the gmail cap 15", c.Target.Connections)
	}
	s, _ := c.Sources[0].Parse("pop3")
	if s.Addr != "pop.gmail.com:995" {
		t.Errorf("source %+v", s)
	}
	// A lower value the user set stays.
	c = presetConfig("alice", "pop3s://a@h")
	c.Target.Preset, c.Target.Connections = "gmail", 3
	if err := c.Validate(); err != nil || c.Target.Connections != 3 {
		t.Errorf("connections %d, %v", c.Target.Connections, err)
	}
	// Size caps.
	if got := maxMessageSize(&Server{Preset: "microsoft365"}); got != 150<<20 {
		t.Errorf("microsoft365 cap %d", got)
	}
	if got := maxMessageSize(&Server{Preset: "fastmail"}); got != 0 {
		t.Errorf("fastmail cap %d", got)
	}
	if Presets["gmail"].DailyUploadBytes != 500<<20 {
		t.Error("gmail quota")
	}
	// Without a preset, a URL without a host is still an error.
	c = presetConfig("imaps://alice@", "pop3s://a@h")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "needs a user and a host") {
		t.Errorf("no preset: %v", err)
	}
}

func TestPresetErrors(t *testing.T) {
	c := presetConfig("alice", "pop3s://a@h")
	c.Target.Preset = "yahoo"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `target.preset: "yahoo" is not one of fastmail, gmail, microsoft365`) {
		t.Errorf("unknown preset: %v", err)
	}
	c = presetConfig("imaps://a@h", "mbox:/tmp/x")
	c.Sources[0].Preset = "gmail"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sources[0].preset: applies to POP3 sources only") {
		t.Errorf("archive: %v", err)
	}
}

// A message larger than the whole quota fails alone (it could never be
// sent); the quota stop says when the oldest counted minute leaves the
// window.
func TestQuotaTargetLimits(t *testing.T) {
	store, err := state.Open(filepath.Join(t.TempDir(), "s.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if err := store.AddUpload(context.Background(), now.Add(-time.Hour), 90); err != nil {
		t.Fatal(err)
	}
	q := withQuota(nil, &Server{Preset: "gmail"}, store, false).(*quotaTarget)
	q.quota, q.now = 100, func() time.Time { return now }
	_, err = q.Append(context.Background(), "INBOX", target.Message{Size: 101})
	if migrate.ClassOf(err) != migrate.ClassMessage {
		t.Errorf("larger than the quota: %v, want a message failure", err)
	}
	_, err = q.Append(context.Background(), "INBOX", target.Message{Size: 11})
	if migrate.ClassOf(err) != migrate.ClassConnect || !strings.Contains(err.Error(), "run again after 2026-01-02T11:01:00Z") {
		t.Errorf("over the quota: %v", err)
	}
	if _, ok := withQuota(nil, &Server{Preset: "gmail"}, store, true).(*quotaTarget); ok {
		t.Error("a dry run counts the quota")
	}
}
