package migrate_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

// treeMsg is one message of treeSrc: its folder in the source and bytes.
type treeMsg struct {
	id, folder string
	body       []byte
}

// treeSrc is a source with folders, listed in the order given.
type treeSrc struct{ msgs []treeMsg }

func (s *treeSrc) List(ctx context.Context, fn func(source.Ref) error) error {
	for _, m := range s.msgs {
		if err := fn(source.Ref{ID: m.id, Folder: m.folder, Size: int64(len(m.body))}); err != nil {
			return err
		}
	}
	return nil
}

func (s *treeSrc) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	for _, m := range s.msgs {
		if m.id == ref.ID {
			return io.NopCloser(bytes.NewReader(m.body)), nil
		}
	}
	return nil, source.ErrNotFound
}

func (s *treeSrc) Close() error { return nil }

// TestFiledCopyWins checks that of a message in an Inbox of a source and
// in a folder the person filed it into, the filed copy lands, once, even
// when the source lists its Inbox first: the engine reads the messages
// bound for INBOX last. Subfolders of the Inbox are filed folders.
func TestFiledCopyWins(t *testing.T) {
	a, b, c, d := msg("a@x", "sent by me"), msg("b@x", "filed"), msg("c@x", "filed under Inbox"), msg("d@x", "only in the Inbox")
	src := &treeSrc{msgs: []treeMsg{
		{"in-a", "Inbox", a}, {"in-b", "Inbox", b}, {"in-c", "Inbox", c}, {"in-d", "Inbox", d},
		{"sent-a", "Sent", a}, {"proj-b", "Projets/Été 2025", b}, {"work-c", "Inbox/Work", c},
	}}
	srv := imaptest.NewServer(t, "u", "p")
	statePath := filepath.Join(t.TempDir(), "state.db")
	sp := migrate.SourceSpec{Name: "tree", Open: func(context.Context) (source.Source, error) { return src, nil }}
	rep, err := runOnce(t, srv, statePath, migrate.Options{}, nil, sp)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 4 || rep.Duplicates != 3 {
		t.Errorf("copied %d, duplicates %d, want 4 and 3", rep.Copied, rep.Duplicates)
	}
	for folder, want := range map[string][][]byte{
		"INBOX": {d}, "Sent": {a}, "Projets/Été 2025": {b}, "INBOX/Work": {c},
	} {
		got, err := srv.Messages(folder)
		if err != nil {
			t.Fatalf("%s: %v", folder, err)
		}
		wantOnce(t, got, want)
	}
	rep, err = runOnce(t, srv, statePath, migrate.Options{}, nil, sp)
	if err != nil || rep.Copied != 0 {
		t.Fatalf("second run: copied %d, %v; want 0, nil", rep.Copied, err)
	}
}
