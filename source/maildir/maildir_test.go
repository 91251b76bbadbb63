package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// msg returns a small message; lf chooses bare LF line endings.
func msg(subject string, lf bool) string {
	s := "From: a@example.org\r\nSubject: " + subject + "\r\n\r\nbody of " + subject + "\r\n"
	if lf {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return s
}

func at(min int) time.Time { return sourcetest.TreeTime.Add(time.Duration(min) * time.Minute) }

// plusPlusTree is a Maildir++ tree covering the cases of the package doc.
var plusPlusTree = []sourcetest.File{
	{Path: "cur/1000.M1.host,S=60:2,S", Body: msg("seen", true), Date: at(1)},
	{Path: "cur/1001.M1.host:2,RS", Body: msg("replied", false), Date: at(2)},
	{Path: "cur/1002.M1.host:2,F", Body: "From: a\nSubject: mixed\r\n\nx\r\ny\n", Date: at(3)},
	{Path: "cur/1003.M1.host:2,ST", Body: msg("deleted", true), Date: at(4)},
	{Path: "cur/1004.M1.host:2,D", Body: msg("draft", true), Date: at(5)},
	{Path: "cur/1005.M1.host:2,Sab", Body: msg("keywords", true), Date: at(6)},
	{Path: "cur/1006.M1.host:2,Sc", Body: msg("unknown keyword", true), Date: at(7)},
	{Path: "new/1007.M1.host", Body: msg("new", true), Date: at(8)},
	{Path: "cur/1008.M1.host", Body: msg("no info", true), Date: at(9)},
	{Path: "cur/1009.M1.host!2,FS", Body: msg("windows", true), Date: at(10)},
	{Path: "tmp/1010.M1.host", Body: msg("being delivered", true), Date: at(11)},
	{Path: "dovecot-keywords", Body: "0 $Junk\n1 Work\n"},
	{Path: "dovecot-uidlist", Body: "3 V1 N1\n"},
	{Path: ".Envoy&AOk-s/cur/2000.M2.host:2,S", Body: msg("sent", true), Date: at(20)},
	{Path: ".Work/cur/3001.M3.host:2,P", Body: msg("work", true), Date: at(31)},
	{Path: ".Work.Sub/new/3000.M3.host", Body: msg("work sub", true), Date: at(30)},
	{Path: ".Work.Sub/dovecot-keywords", Body: "0 Other\n"},
}

// plusPlusWant is what plusPlusTree yields without IncludeDeleted.
func plusPlusWant() []sourcetest.Message {
	m := func(folder, subject string, lf bool, min int, flags ...string) sourcetest.Message {
		return sourcetest.Message{Folder: folder, Body: []byte(msg(subject, false)), Flags: flags, Date: at(min)}
	}
	return []sourcetest.Message{
		m("", "seen", true, 1, `\Seen`),
		m("", "replied", false, 2, `\Answered`, `\Seen`),
		{Folder: "", Body: []byte("From: a\r\nSubject: mixed\r\n\r\nx\r\ny\r\n"), Flags: []string{`\Flagged`}, Date: at(3)},
		m("", "draft", true, 5, `\Draft`),
		m("", "keywords", true, 6, `\Seen`, `$Junk`, `Work`),
		m("", "unknown keyword", true, 7, `\Seen`),
		m("", "new", true, 8),
		m("", "no info", true, 9),
		m("", "windows", true, 10, `\Flagged`, `\Seen`),
		m("Envoyés", "sent", true, 20, `\Seen`),
		m("Work", "work", true, 31, `$Forwarded`),
		m("Work/Sub", "work sub", true, 30),
	}
}

func newSource(t *testing.T, opts Options) *Source {
	t.Helper()
	src, err := New(opts)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestPlusPlus(t *testing.T) {
	root := sourcetest.Build(t, plusPlusTree)
	before := sourcetest.Snapshot(t, root)
	var warnings []string
	src := newSource(t, Options{Path: root, Warn: func(p string, err error) {
		warnings = append(warnings, fmt.Sprintf("%s: %v", p, err))
	}})
	sourcetest.Check(t, src, plusPlusWant())
	sourcetest.StopEarly(t, src)
	sourcetest.Unchanged(t, root, before)
	if len(warnings) == 0 || !strings.Contains(warnings[0], `keyword letter 'c'`) {
		t.Errorf("warnings = %q, want one about keyword letter 'c'", warnings)
	}
}

func TestIncludeDeleted(t *testing.T) {
	root := sourcetest.Build(t, plusPlusTree)
	src := newSource(t, Options{Path: root, IncludeDeleted: true})
	want := plusPlusWant()
	del := sourcetest.Message{Body: []byte(msg("deleted", false)), Flags: []string{`\Seen`, `\Deleted`}, Date: at(4)}
	want = append(want[:3], append([]sourcetest.Message{del}, want[3:]...)...)
	sourcetest.Check(t, src, want)
}

func TestIDs(t *testing.T) {
	root := sourcetest.Build(t, plusPlusTree)
	src := newSource(t, Options{Path: root})
	var ids []string
	src.List(context.Background(), func(r source.Ref) error { ids = append(ids, r.ID); return nil })
	want := []string{"/1000.M1.host,S=60", "/1001.M1.host", "/1002.M1.host", "/1004.M1.host", "/1005.M1.host",
		"/1006.M1.host", "/1007.M1.host", "/1008.M1.host", "/1009.M1.host", "Envoyés/2000.M2.host",
		"Work/3001.M3.host", "Work/Sub/3000.M3.host"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("IDs = %q, want %q", ids, want)
	}
}

func TestFSLayout(t *testing.T) {
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "cur/1.A.h:2,S", Body: msg("inbox", true), Date: at(1)},
		{Path: "Archive/2020/cur/5.A.h:2,S", Body: msg("archived", true), Date: at(5)},
		{Path: "Envoy&AOk-s/cur/3.A.h:2,", Body: msg("sent", true), Date: at(3)},
		{Path: "Lists/Go/new/4.A.h", Body: msg("list", true), Date: at(4)},
		{Path: "Sent/cur/2.A.h:2,RS", Body: msg("sent 2", false), Date: at(2)},
		{Path: "Sent/tmp/9.A.h", Body: msg("tmp", true)},
	})
	sourcetest.Mkdirs(t, root, "new", "tmp", "Archive/cur", "Archive/new", "Archive/tmp")
	before := sourcetest.Snapshot(t, root)
	src := newSource(t, Options{Path: root})
	m := func(folder, subject string, min int, flags ...string) sourcetest.Message {
		return sourcetest.Message{Folder: folder, Body: []byte(msg(subject, false)), Flags: flags, Date: at(min)}
	}
	sourcetest.Check(t, src, []sourcetest.Message{
		m("", "inbox", 1, `\Seen`),
		m("Archive/2020", "archived", 5, `\Seen`),
		m("Envoyés", "sent", 3),
		m("Lists/Go", "list", 4),
		m("Sent", "sent 2", 2, `\Answered`, `\Seen`),
	})
	sourcetest.Unchanged(t, root, before)
}

// listAll lists src and returns its refs by subject-free ID.
func listAll(t *testing.T, src *Source) map[string]source.Ref {
	t.Helper()
	refs := map[string]source.Ref{}
	if err := src.List(context.Background(), func(r source.Ref) error { refs[r.ID] = r; return nil }); err != nil {
		t.Fatalf("List() = %v", err)
	}
	return refs
}

func readAll(t *testing.T, src *Source, ref source.Ref) (string, error) {
	t.Helper()
	rc, err := src.Open(context.Background(), ref)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestChangedBetweenListAndOpen(t *testing.T) {
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "cur/1.A.h:2,S", Body: msg("flag added", true)},
		{Path: "new/2.A.h", Body: msg("moved to cur", true)},
		{Path: "cur/3.A.h:2,S", Body: msg("deleted", true)},
		{Path: ".Gone/cur/4.A.h:2,S", Body: msg("folder removed", true)},
	})
	src := newSource(t, Options{Path: root})
	refs := listAll(t, src)
	mv := func(from, to string) {
		if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
			t.Fatal(err)
		}
	}
	mv("cur/1.A.h:2,S", "cur/1.A.h:2,RS")
	mv("new/2.A.h", "cur/2.A.h:2,S")
	os.Remove(filepath.Join(root, "cur/3.A.h:2,S"))
	os.RemoveAll(filepath.Join(root, ".Gone"))

	for id, subject := range map[string]string{"/1.A.h": "flag added", "/2.A.h": "moved to cur"} {
		if got, err := readAll(t, src, refs[id]); err != nil || got != msg(subject, false) {
			t.Errorf("Open(%s) = %q, %v, want %q", id, got, err, msg(subject, false))
		}
	}
	for _, id := range []string{"/3.A.h", "Gone/4.A.h"} {
		if _, err := readAll(t, src, refs[id]); !errors.Is(err, source.ErrNotFound) {
			t.Errorf("Open(%s) = %v, want source.ErrNotFound", id, err)
		}
	}
}

func TestOpenWithoutList(t *testing.T) {
	root := sourcetest.Build(t, plusPlusTree)
	src := newSource(t, Options{Path: root})
	got, err := readAll(t, src, source.Ref{ID: "Work/Sub/3000.M3.host"})
	if err != nil || got != msg("work sub", false) {
		t.Errorf("Open() = %q, %v, want %q", got, err, msg("work sub", false))
	}
	for _, id := range []string{"Nope/1.A.h", "/no-such", "bad", "Work/"} {
		if _, err := readAll(t, src, source.Ref{ID: id}); err == nil {
			t.Errorf("Open(%q) = nil error, want one", id)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Options{Path: t.TempDir()}); err == nil {
		t.Error("New(empty directory) = nil error, want not a Maildir")
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New(no path) = nil error, want one")
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct{ in, unique, flags string }{
		{"1.A.h:2,RS", "1.A.h", "RS"},
		{"1.A.h,S=10,W=12:2,S", "1.A.h,S=10,W=12", "S"},
		{"1.A.h!2,F", "1.A.h", "F"},
		{"1.A.h:2,", "1.A.h", ""},
		{"1.A.h", "1.A.h", ""},
		{"1.A.h:1,xyz", "1.A.h", ""},
		{"odd!name", "odd!name", ""},
	}
	for _, tt := range tests {
		if u, f := splitName(tt.in); u != tt.unique || f != tt.flags {
			t.Errorf("splitName(%q) = %q, %q, want %q, %q", tt.in, u, f, tt.unique, tt.flags)
		}
	}
}
