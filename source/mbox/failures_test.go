package mbox

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// readable is a Source without its failure Refs, for sourcetest.Check.
type readable struct{ *Source }

func (r readable) List(ctx context.Context, fn func(source.Ref) error) error {
	return r.Source.List(ctx, func(ref source.Ref) error {
		if strings.HasSuffix(ref.ID, failID) {
			return nil
		}
		return fn(ref)
	})
}

// failures lists s and returns its failure Refs' Open errors by ID,
// checking that each failure Ref has size 0 and an error wrapping
// source.ErrUnreadable.
func failures(t testing.TB, s *Source) map[string]error {
	t.Helper()
	out := map[string]error{}
	for _, ref := range listAll(t, s) {
		if !strings.HasSuffix(ref.ID, failID) {
			continue
		}
		if ref.Size != 0 || ref.Flags != nil || !ref.Date.IsZero() {
			t.Errorf("failure ref %+v, want size 0, no flags, no date", ref)
		}
		rc, err := s.Open(context.Background(), ref)
		if err == nil {
			rc.Close()
			t.Errorf("Open(%s) = nil, want an error", ref.ID)
			continue
		}
		if !errors.Is(err, source.ErrUnreadable) {
			t.Errorf("Open(%s) = %v, want ErrUnreadable", ref.ID, err)
		}
		out[ref.ID] = err
	}
	return out
}

// wantUnreadable checks that Open(ref) fails with ErrUnreadable and an
// error that says each of says.
func wantUnreadable(t testing.TB, s *Source, ref source.Ref, says ...string) {
	t.Helper()
	rc, err := s.Open(context.Background(), ref)
	if err == nil {
		rc.Close()
		t.Fatalf("Open(%s) = nil, want ErrUnreadable", ref.ID)
	}
	if !errors.Is(err, source.ErrUnreadable) {
		t.Errorf("Open(%s) = %v, want ErrUnreadable", ref.ID, err)
	}
	for _, w := range says {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Open(%s) = %q, want it to say %q", ref.ID, err, w)
		}
	}
}

// TestNeverASilentSkip: in a tree, every file or directory that cannot
// be read is listed as a failure Ref, in its place, with its folder, and
// the readable mail around it is listed as usual.
func TestNeverASilentSkip(t *testing.T) {
	dir := t.TempDir()
	msg := func(s string) string { return from1 + "Subject: " + s + "\n\n" + s + "\n" }
	writeFile(t, dir, "Archives.sbd/2023", msg("a2023"))
	writeFile(t, dir, "Inbox", msg("in"))
	writeFile(t, dir, "Junk", "\x00\x00\x00\x00\x00\x00")      // wiped by a crash: no From line left
	writeFile(t, dir, "Projects.sbd/Alpha", msg("alpha"))      // in a directory that cannot be read
	writeFile(t, dir, "Sent", msg("sent"))                     // cannot be opened
	writeFile(t, dir, "Invoices.dat", msg("invoice"))          // a folder with a name Thunderbird uses for settings
	writeFile(t, dir, "msgFilterRules.dat", "version=\"9\"\n") // Thunderbird's own: left out without a word
	writeFile(t, dir, "Sent.msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n")
	if err := os.Symlink(filepath.Join(dir, "Inbox"), filepath.Join(dir, "Linked")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "Pipe"), 0o600); err != nil {
		t.Fatal(err)
	}

	failDir := filepath.Join(dir, "Projects.sbd")
	walkDir = func(root string, fn fs.WalkDirFunc) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if p != failDir || err != nil {
				return fn(p, d, err)
			}
			if err := fn(p, d, nil); err != nil {
				return err
			}
			if err := fn(p, d, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}); err != nil {
				return err
			}
			return filepath.SkipDir
		})
	}
	failFile := filepath.Join(dir, "Sent")
	openFile = func(p string) (*os.File, error) {
		if p == failFile {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
		}
		return os.Open(p)
	}
	t.Cleanup(func() { walkDir, openFile = filepath.WalkDir, os.Open })

	var warned []string
	s := newSource(t, Options{Path: dir, Warn: func(p string, err error) { warned = append(warned, p+": "+err.Error()) }})
	var got []string
	for _, r := range listAll(t, s) {
		got = append(got, r.Folder+" "+strings.TrimPrefix(r.ID[strings.LastIndexByte(r.ID, '#'):], "#"))
	}
	want := "Archives/2023 *|Inbox *|Invoices.dat *|Junk unreadable|Linked unreadable|Pipe unreadable|Projects unreadable|Sent unreadable"
	if strings.Join(masked(got), "|") != want {
		t.Errorf("List gave\n %q\nwant\n %q", strings.Join(masked(got), "|"), want)
	}
	if len(warned) != 0 {
		t.Errorf("warnings %q, want none: everything not read is a failure", warned)
	}
	failed := failures(t, s)
	for id, says := range map[string][]string{
		"Junk#0#unreadable":          {`cannot read folder "Junk"`, filepath.Join(dir, "Junk"), "not an mbox file", "move it out of " + dir},
		"Linked#0#unreadable":        {"symbolic link", "give the file it names as a source of its own"},
		"Pipe#0#unreadable":          {"not a regular file"},
		"Projects.sbd/#0#unreadable": {`cannot read the subfolders of folder "Projects"`, "permission denied", "make it readable and run again"},
		"Sent#0#unreadable":          {`cannot read folder "Sent"`, "permission denied", "make it readable and run again"},
	} {
		err := failed[id]
		if err == nil {
			t.Errorf("no failure %s", id)
			continue
		}
		for _, w := range says {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("failure %s: %q does not say %q", id, err, w)
			}
		}
	}
	var wantMsgs []sourcetest.Message
	for _, m := range [][2]string{{"Archives/2023", "a2023"}, {"Inbox", "in"}, {"Invoices.dat", "invoice"}} {
		wantMsgs = append(wantMsgs, msgs(m[0], "Subject: "+m[1]+"\n\n"+m[1]+"\n")...)
	}
	sourcetest.Check(t, readable{s}, wantMsgs)
}

// masked replaces the hash of readable messages by "*".
func masked(refs []string) []string {
	var out []string
	for _, r := range refs {
		if !strings.HasSuffix(r, " unreadable") {
			r = r[:strings.LastIndexByte(r, ' ')] + " *"
		}
		out = append(out, r)
	}
	return out
}

// A failure Ref opened by a Source that has not listed it (the engine
// lists first, but Open must not depend on it) lists again to find it;
// one that can now be read is gone.
func TestFailureOpenedUnlisted(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "Drafts", "no From line here\n")
	ref := source.Ref{ID: "Drafts#0#unreadable", Folder: "Drafts"}
	wantUnreadable(t, newSource(t, Options{Path: dir}), ref, "not an mbox file")
	if err := os.WriteFile(path, []byte(from1+"Subject: fixed\n\nok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newSource(t, Options{Path: dir}).Open(context.Background(), ref); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("Open(repaired file's failure ref) = %v, want ErrNotFound", err)
	}
}

// A file given alone that stops being an mbox between New and List is a
// failure too; a file of white space only is an empty mbox.
func TestSingleFileFailure(t *testing.T) {
	path := writeFile(t, t.TempDir(), "inbox.mbox", from1+"Subject: x\n\nx\n")
	s := newSource(t, Options{Path: path})
	if err := os.WriteFile(path, []byte("gone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refs := listAll(t, s)
	if len(refs) != 1 || refs[0].ID != "inbox.mbox#0#unreadable" || refs[0].Folder != "" {
		t.Fatalf("refs %+v, want one failure", refs)
	}
	wantUnreadable(t, s, refs[0], "the folder of this source", "not an mbox file")

	if refs := listAll(t, fileSource(t, " \n\t\r\n\n", Options{})); len(refs) != 0 {
		t.Errorf("white space only: %d refs, want none", len(refs))
	}
}
