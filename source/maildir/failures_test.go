package maildir

import (
	"context"
	"errors"
	"io"
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

// listOpen lists src and opens every Ref, without failing a test (it may
// run in sourcetest.Unprivileged).
func listOpen(src source.Source) (map[string]opened, []string, error) {
	got := map[string]opened{}
	var order []string
	err := src.List(context.Background(), func(r source.Ref) error {
		got[r.ID] = opened{ref: r}
		order = append(order, r.ID)
		return nil
	})
	for id, o := range got {
		rc, oerr := src.Open(context.Background(), o.ref)
		if o.err = oerr; oerr == nil {
			o.body, o.err = io.ReadAll(rc)
			rc.Close()
		}
		got[id] = o
	}
	return got, order, err
}

// wantFailures checks that each ID of want was listed in its folder and
// that Open says why it cannot be read, wrapping source.ErrUnreadable.
func wantFailures(t *testing.T, got map[string]opened, want map[string]struct{ folder, reason string }) {
	t.Helper()
	for id, w := range want {
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
}

// TestNeverSilentSkip checks, in a LAYOUT=fs tree, that what cannot be
// read is a failure Ref whose Open says why: a folder whose cur/ has no
// read permission, a directory of subfolders without read permission, a
// folder whose cur/ is a link loop, a message file without read
// permission, a link in cur/ that leads nowhere, a FIFO in cur/, and a
// file of new/ with the unique name of another, different, file of cur/.
// The same message in cur/ and new/ is read once with a warning; good
// messages are read.
func TestNeverSilentSkip(t *testing.T) {
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "cur/1.M1.host:2,S", Body: msg("good", true)},
		{Path: "cur/2.M1.host:2,S", Body: msg("locked", true)},
		{Path: "cur/3.M1.host:2,S", Body: msg("moving", true)},
		{Path: "new/3.M1.host", Body: msg("moving", true)},
		{Path: "cur/4.M1.host:2,S", Body: msg("first of two", true)},
		{Path: "new/4.M1.host", Body: msg("second of two, other bytes", true)},
		{Path: "Sent/cur/5.M1.host:2,S", Body: msg("sent", true)},
		{Path: "Locked/Sub/cur/6.M1.host:2,S", Body: msg("sub", true)},
		{Path: "Loop/new/7.M1.host", Body: msg("loop", true)},
	})
	sourcetest.Mkdirs(t, root, "Locked/Sub/new")
	if err := os.Symlink(filepath.Join(root, "gone"), filepath.Join(root, "cur", "8.M1.host:2,S")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("cur", filepath.Join(root, "Loop", "cur")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "cur", "9.M1.host:2,S"), 0o644); err != nil {
		t.Fatal(err)
	}
	sourcetest.Deny(t, filepath.Join(root, "cur", "2.M1.host:2,S"), filepath.Join(root, "Sent", "cur"), filepath.Join(root, "Locked"))
	var warnings []string
	src := newSource(t, Options{Path: root, Warn: func(p string, err error) { warnings = append(warnings, p+": "+err.Error()) }})

	var got map[string]opened
	var order []string
	var listErr error
	sourcetest.Unprivileged(t, root, func() { got, order, listErr = listOpen(src) })
	if listErr != nil {
		t.Fatalf("List() = %v, want nil", listErr)
	}
	cur := filepath.Join(root, "cur")
	wantFailures(t, got, map[string]struct{ folder, reason string }{
		"/2.M1.host":     {"", "cannot read " + filepath.Join(cur, "2.M1.host:2,S") + ": permission denied"},
		"/4.M1.host#new": {"", "cannot read " + filepath.Join(root, "new", "4.M1.host") + ": another file, " + filepath.Join(cur, "4.M1.host:2,S") + ", has the same unique name but other bytes"},
		"/8.M1.host":     {"", "cannot read " + filepath.Join(cur, "8.M1.host:2,S") + ": no such file or directory"},
		"/9.M1.host":     {"", "cannot read " + filepath.Join(cur, "9.M1.host:2,S") + ": not a regular file"},
		"Sent/":          {"Sent", "cannot read folder Sent (" + filepath.Join(root, "Sent") + "): permission denied"},
		"Locked/":        {"Locked", "cannot read folder Locked (" + filepath.Join(root, "Locked") + "): permission denied"},
		"Loop/":          {"Loop", "cannot read folder Loop (" + filepath.Join(root, "Loop") + "): too many levels of symbolic links"},
	})
	for id, subject := range map[string]string{"/1.M1.host": "good", "/3.M1.host": "moving", "/4.M1.host": "first of two"} {
		if o := got[id]; o.err != nil || string(o.body) != msg(subject, false) {
			t.Errorf("%s: Open() = %q, %v, want the message %q", id, o.body, o.err, subject)
		}
	}
	if len(order) != 10 {
		t.Errorf("listed %q, want 7 failures and 3 messages", order)
	}
	wantWarn := filepath.Join(root, "new", "3.M1.host") + ": read once: the same message as " + filepath.Join(cur, "3.M1.host:2,S")
	if !slices.Contains(warnings, wantWarn+" (another client is moving it)") || len(warnings) != 1 {
		t.Errorf("warnings = %q, want only %q", warnings, wantWarn)
	}
}

// TestMaildirOutsidePlusPlus checks that a Maildir beside the .Name
// folders of a Maildir++ tree is a failure Ref, not skipped with a
// warning.
func TestMaildirOutsidePlusPlus(t *testing.T) {
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "cur/1.M1.host:2,S", Body: msg("top", true)},
		{Path: ".Sent/cur/2.M1.host:2,S", Body: msg("sent", true)},
		{Path: "Other/cur/3.M1.host:2,S", Body: msg("other", true)},
	})
	got, order, err := listOpen(newSource(t, Options{Path: root}))
	if err != nil {
		t.Fatal(err)
	}
	wantFailures(t, got, map[string]struct{ folder, reason string }{
		"Other/": {"Other", "cannot read folder " + filepath.Join(root, "Other") + ": a Maildir outside the Maildir++ layout of its parent"},
	})
	if want := []string{"/1.M1.host", "Other/", "Sent/2.M1.host"}; !slices.Equal(order, want) {
		t.Errorf("listed %q, want %q", order, want)
	}
}
