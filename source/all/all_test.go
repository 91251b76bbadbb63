package all_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
	_ "github.com/mailferry/mailferry/source/all"
)

func TestEveryKindRegistered(t *testing.T) {
	want := []string{"eml", "maildir", "mbox", "thunderbird"}
	if got := source.ArchiveKinds(); !slices.Equal(got, want) {
		t.Fatalf("ArchiveKinds() = %q, want %q", got, want)
	}
	if got := source.MergingKinds(); !slices.Equal(got, []string{"thunderbird"}) {
		t.Fatalf("MergingKinds() = %q, want thunderbird", got)
	}
}

func TestOpenArchive(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "Inbox")
	os.WriteFile(mbox, []byte("From a@b Fri Jul  8 12:08:34 2011\nSubject: x\n\nbody\n"), 0o644)
	kind, path, ok := source.ParseArchiveURL("mbox:" + mbox)
	if !ok || kind != "mbox" || path != mbox {
		t.Fatalf("ParseArchiveURL = %q, %q, %v", kind, path, ok)
	}
	src, err := source.OpenArchive(kind, source.ArchiveOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := src.List(t.Context(), func(source.Ref) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("List: %d messages, %v; want 1", n, err)
	}
	src.Close()
	// A file that is not an mbox fails when opened, not when listed.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not mail\n"), 0o644)
	if _, err := source.OpenArchive("mbox", source.ArchiveOptions{Path: filepath.Join(dir, "notes.txt")}); err == nil {
		t.Error("a text file opened as an mbox")
	}
	if _, err := source.OpenArchive("maildir", source.ArchiveOptions{Path: mbox, MergeAccounts: []string{"*"}}); err == nil ||
		!strings.Contains(err.Error(), "thunderbird") {
		t.Errorf("merge accounts of a maildir: %v, want an error naming thunderbird", err)
	}
	if _, err := source.OpenArchive("pst", source.ArchiveOptions{Path: mbox}); err == nil ||
		!strings.Contains(err.Error(), "eml, maildir, mbox, thunderbird") {
		t.Errorf("unknown kind: %v, want an error listing the kinds", err)
	}
}
