package eml

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// opened is what Open gave for one listed Ref.
type opened struct {
	ref  source.Ref
	body []byte
	err  error
}

// listOpen lists src and opens every Ref, without failing t (it may run
// in sourcetest.Unprivileged).
func listOpen(src source.Source) (map[string]opened, error) {
	got := map[string]opened{}
	err := src.List(context.Background(), func(r source.Ref) error {
		got[r.ID] = opened{ref: r}
		return nil
	})
	for id, o := range got {
		o.body, o.err = readAll(src.(*Source), o.ref)
		got[id] = o
	}
	return got, err
}

// TestNeverSilentSkip checks that what cannot be read is listed as a
// failure Ref whose Open says why, wrapping source.ErrUnreadable: a
// folder and a file without read permission (as nobody when the test
// runs as root), a .partial.emlx, a link that leads out of the tree, a
// dangling link, a link loop, and a FIFO with a message name. The good
// messages around them are read, and a link to a directory of the tree
// is not followed, with a warning.
func TestNeverSilentSkip(t *testing.T) {
	outside := sourcetest.Build(t, []sourcetest.File{{Path: "elsewhere.eml", Body: msg("elsewhere")}})
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "a.eml", Body: msg("a")},
		{Path: "Old/x.eml", Body: msg("x")},
		{Path: "Projects/b.eml", Body: msg("b")},
		{Path: "locked.eml", Body: msg("locked")},
		{Path: "Work.mbox/Messages/5.partial.emlx", Body: emlx(msg("partial"), 0, intDate(received))},
	})
	for link, to := range map[string]string{
		"out.eml":      filepath.Join(outside, "elsewhere.eml"),
		"dangling.eml": filepath.Join(root, "gone.eml"),
		"Loop":         "Loop",
		"Alias":        "Projects",
	} {
		if err := os.Symlink(to, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.eml"), 0o644); err != nil {
		t.Fatal(err)
	}
	sourcetest.Deny(t, filepath.Join(root, "Old"), filepath.Join(root, "locked.eml"))
	var warnings []string
	src := newSource(t, Options{Path: root, Warn: func(p string, err error) { warnings = append(warnings, p+": "+err.Error()) }})

	var got map[string]opened
	var listErr error
	sourcetest.Unprivileged(t, root, func() { got, listErr = listOpen(src) })
	if listErr != nil {
		t.Fatalf("List() = %v, want nil", listErr)
	}
	fails := map[string]struct{ folder, reason string }{
		"Old/":                              {"Old", "cannot read folder " + filepath.Join(root, "Old") + ": permission denied"},
		"locked.eml":                        {"", "cannot read " + filepath.Join(root, "locked.eml") + ": permission denied"},
		"Work.mbox/Messages/5.partial.emlx": {"Work", "a partial .emlx, whose attachments Apple Mail keeps in other files; export the mailbox"},
		"out.eml":                           {"", "a symbolic link that cannot be followed inside the tree"},
		"dangling.eml":                      {"", "a symbolic link that cannot be followed inside the tree"},
		"Loop":                              {"", "a symbolic link that cannot be followed inside the tree"},
		"pipe.eml":                          {"", "cannot read " + filepath.Join(root, "pipe.eml") + ": not a regular file"},
	}
	for id, w := range fails {
		o, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s: not listed, want a failure Ref", id)
		case o.ref.Folder != w.folder:
			t.Errorf("%s: Folder = %q, want %q", id, o.ref.Folder, w.folder)
		case !errors.Is(o.err, source.ErrUnreadable) || !strings.Contains(o.err.Error(), w.reason):
			t.Errorf("%s: Open() = %v, want source.ErrUnreadable saying %q", id, o.err, w.reason)
		}
	}
	for id, subject := range map[string]string{"a.eml": "a", "Projects/b.eml": "b"} {
		if o := got[id]; o.err != nil || string(o.body) != string(wantCRLF(subject)) {
			t.Errorf("%s: Open() = %q, %v, want the message", id, o.body, o.err)
		}
	}
	if len(got) != len(fails)+2 {
		var ids []string
		for id := range got {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		t.Errorf("listed %q, want the %d failures and 2 messages", ids, len(fails))
	}
	wantWarn := filepath.Join(root, "Alias") + ": not followed: a symbolic link to a directory of the tree"
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], wantWarn) {
		t.Errorf("warnings = %q, want only %q", warnings, wantWarn)
	}
	// A failure Ref stays one across runs: same ID, same reason.
	again, _ := listOpen(newSource(t, Options{Path: root}))
	if o := again["Work.mbox/Messages/5.partial.emlx"]; !errors.Is(o.err, source.ErrUnreadable) {
		t.Errorf("second source: Open(partial) = %v, want source.ErrUnreadable", o.err)
	}
}
