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
