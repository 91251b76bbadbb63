package main

import (
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
)

// One line per message event, none for listings and retries; appended
// across runs; the file is its owner's only.
func TestEventLogLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.log")
	log := slog.New(slog.DiscardHandler)
	for run := range 2 {
		l, err := openEventLog(path, run == 1, log)
		if err != nil {
			t.Fatal(err)
		}
		l.Event(migrate.Event{Kind: migrate.EventListed, Source: "pop3://a@x", Count: 3})
		l.Event(migrate.Event{Kind: migrate.EventCopied, Source: "pop3://a@x", Ref: source.Ref{ID: "u1"},
			MessageID: "m1@x", Folder: "INBOX", UID: 4, Bytes: 100})
		l.Event(migrate.Event{Kind: migrate.EventRetry, Source: "pop3://a@x", Err: errors.New("reset")})
		l.Event(migrate.Event{Kind: migrate.EventFiltered, Source: "pop3://a@x", Ref: source.Ref{ID: "u2"},
			Folder: "INBOX", Err: errors.New("dated 2020-01-01T00:00:00Z, before the since date 2022-01-01T00:00:00Z")})
		l.Event(migrate.Event{Kind: migrate.EventRestored, Source: "pop3://a@x", Ref: source.Ref{ID: "u3"},
			MessageID: "m3@x", Folder: "INBOX", UID: 9})
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	lines := readLogFile(t, path)
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 3 per run", len(lines))
	}
	want := []struct{ outcome, ref, id string }{{"copied", "u1", "m1@x"}, {"filtered", "u2", ""}, {"restored", "u3", "m3@x"}}
	for i, l := range lines {
		w := want[i%3]
		if l["outcome"] != w.outcome || l["ref"] != w.ref || l["message_id"] != w.id || l["folder"] != "INBOX" {
			t.Errorf("line %d = %v, want %+v", i, l, w)
		}
		if _, dry := l["dry_run"]; dry != (i >= 3) {
			t.Errorf("line %d = %v: dry_run only in the second (dry) run", i, l)
		}
	}
	if lines[0]["uid"].(float64) != 4 || lines[1]["reason"] == nil {
		t.Errorf("lines %v: want uid 4, and a reason for the filtered one", lines[:2])
	}
}
