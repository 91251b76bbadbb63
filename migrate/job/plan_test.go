package job

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// listSource lists refs and opens nothing.
type listSource struct{ refs []source.Ref }

func (s listSource) List(_ context.Context, fn func(source.Ref) error) error {
	for _, r := range s.refs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
func (listSource) Open(context.Context, source.Ref) (io.ReadCloser, error) {
	return nil, errors.New("not read")
}
func (listSource) Close() error { return nil }

// batchSource is a listSource that is a source.Batcher.
type batchSource struct{ listSource }

func (batchSource) OpenBatch(context.Context, []source.Ref, func(source.Ref, io.Reader) error) error {
	return errors.New("not read")
}

// doneStore holds the refs of earlier runs, by ID.
type doneStore struct {
	readOnlyStore
	done map[string]state.RefRecord
}

func (s doneStore) Refs(_ string, fn func(string, state.RefRecord) error) error {
	for id, r := range s.done {
		if err := fn(id, r); err != nil {
			return err
		}
	}
	return nil
}

// layoutTarget is a target with a layout and nothing else.
type layoutTarget struct {
	target.Target
	layout target.Layout
}

func (t layoutTarget) Layout(context.Context) (target.Layout, error) { return t.layout, nil }

func TestPlan(t *testing.T) {
	now := time.Now()
	refs := []source.Ref{{ID: "1", Size: 10}, {ID: "2", Size: 20}, {ID: "3", Size: 30}, {ID: "4", Size: 40}}
	tree := []source.Ref{{ID: "a", Folder: "Sent", Size: 5}, {ID: "b", Folder: "Trash", Size: 6}, {ID: "c", Folder: "Sent", Size: 7}}
	store := doneStore{done: map[string]state.RefRecord{
		"1": {Done: now.Add(-72 * time.Hour)}, "2": {Done: now.Add(-time.Hour)}}}
	for _, tc := range []struct {
		name             string
		keep             time.Duration
		wouldDelete, kep int
	}{{"after-upload", 0, 4, 0}, {"keep-days:2", 48 * time.Hour, 1, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			m := &migrate.Migrator{
				Target: layoutTarget{layout: target.Layout{Delimiter: ".", Prefix: "INBOX.", Folders: []string{"INBOX", "INBOX.Sent"},
					Special: map[string]string{`\Sent`: "INBOX.Sent"}}},
				State: store,
				Sources: []migrate.SourceSpec{
					{Name: "pop3s://alice@pop:995", Folder: "INBOX", Delete: &migrate.DeletePolicy{KeepFor: tc.keep},
						Open: func(context.Context) (source.Source, error) { return batchSource{listSource{refs}}, nil }},
					{Name: "maildir:/m", Archive: true, Exclude: []string{"Trash"},
						Open: func(context.Context) (source.Source, error) { return listSource{tree}, nil }},
				}}
			p, err := (&Job{Migrator: m}).Plan(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// The run lists each source, the POP3 one twice (a reconnection).
			for i, times := range []int{2, 1} {
				for range times {
					src, err := m.Sources[i].Open(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := src.(source.Batcher); ok != (i == 0) {
						t.Errorf("source %d: Batcher %v after wrapping, want %v", i, ok, i == 0)
					}
					n := 0
					src.List(t.Context(), func(source.Ref) error { n++; return nil })
					if want := []int{4, 3}[i]; n != want {
						t.Errorf("source %d listed %d refs, want %d", i, n, want)
					}
				}
			}
			if len(p.Sources) != 2 || len(p.Sources[0].Folders) != 1 || len(p.Sources[1].Folders) != 2 {
				t.Fatalf("plan %+v, want a source of one folder and one of two", p.Sources)
			}
			f := p.Sources[0].Folders[0]
			if f.Target != "INBOX" || !f.Exists || f.Listed != 4 || f.Bytes != 100 || f.Done != 2 {
				t.Errorf("maildrop %+v, want 4 messages (100 bytes) into INBOX, 2 done", *f)
			}
			sent, trash := p.Sources[1].Folders[0], p.Sources[1].Folders[1]
			if sent.Source != "Sent" || sent.Target != "INBOX.Sent" || sent.Listed != 2 || sent.Bytes != 12 || sent.Excluded {
				t.Errorf("Sent %+v, want 2 messages into INBOX.Sent", *sent)
			}
			if !trash.Excluded || trash.Target != "INBOX.Trash" || trash.Exists {
				t.Errorf("Trash %+v, want excluded", *trash)
			}
			ev := func(kind migrate.EventKind, src, id, folder string, bytes int64) migrate.Event {
				return migrate.Event{Kind: kind, Source: src, Ref: source.Ref{ID: id, Folder: folder}, Folder: "INBOX", Bytes: bytes}
			}
			p.Add(migrate.Event{Kind: migrate.EventListed, Source: "pop3s://alice@pop:995", Count: 2})
			p.Add(ev(migrate.EventCopied, "pop3s://alice@pop:995", "3", "", 31))
			p.Add(ev(migrate.EventDuplicate, "pop3s://alice@pop:995", "4", "", 40))
			p.Add(ev(migrate.EventCopied, "maildir:/m", "a", "Sent", 5))
			p.Add(ev(migrate.EventPresent, "maildir:/m", "c", "Sent", 7))
			p.Finish()
			if f.Copy != 1 || f.CopyBytes != 31 || f.Duplicates != 1 || f.Present != 0 {
				t.Errorf("maildrop after the run %+v, want 1 to copy (31 bytes), 1 duplicate", *f)
			}
			if sent.Copy != 1 || sent.Present != 1 {
				t.Errorf("Sent after the run %+v, want 1 to copy, 1 present", *sent)
			}
			if s := p.Sources[0]; s.WouldDelete != tc.wouldDelete || s.DeleteKept != tc.kep {
				t.Errorf("would delete %d, kept %d; want %d, %d", s.WouldDelete, s.DeleteKept, tc.wouldDelete, tc.kep)
			}
			if s := p.Sources[1]; s.WouldDelete != 0 || s.Delete != nil {
				t.Errorf("archive would delete %d", s.WouldDelete)
			}
		})
	}
}
