package batch

import (
	"testing"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
)

// A base target URL without a host works when a preset gives the host.
func TestConfigsPresetHost(t *testing.T) {
	base := job.Config{Dedup: migrate.DedupAccount, Target: job.Server{URL: "imaps://", Preset: "gmail", Connections: 40}}
	items, err := Configs(base, []Account{{Line: 2, TargetUser: "alice@example.org",
		SourceURL: "pop3s://pop.example.org", SourceUser: "alice"}}, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got := items[0].Config.Target
	if got.URL != "imaps://alice%40example.org@imap.gmail.com:993" || got.Connections != 15 {
		t.Errorf("target %q, %d connections; want gmail's host and at most 15", got.URL, got.Connections)
	}
	if err := items[0].Config.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

// An account's source_url without a host works when the base source's
// preset gives it; a source_url with a host keeps it.
func TestConfigsPresetSourceHost(t *testing.T) {
	base := job.Config{Dedup: migrate.DedupAccount, Target: job.Server{URL: "imaps://imap.example.org", Connections: 4},
		Sources: []job.Source{{Server: job.Server{Preset: "gmail"}}}}
	items, err := Configs(base, []Account{
		{Line: 2, TargetUser: "alice", SourceURL: "pop3s://", SourceUser: "alice@gmail.com"},
		{Line: 3, TargetUser: "bob", SourceURL: "pop3s://pop.example.net:1995", SourceUser: "bob"},
	}, Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pop3s://alice%40gmail.com@pop.gmail.com:995", "pop3s://bob@pop.example.net:1995"}
	for i, it := range items {
		if got := it.Config.Sources[0].URL; got != want[i] {
			t.Errorf("account %d: source %q, want %q", i, got, want[i])
		}
	}
}
