package mbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

const (
	from1 = "From alice@example.com Fri Jul  8 12:08:34 2011\n"
	from2 = "From bob@example.com Sat Jul  9 10:00:00 2011\n"
)

// writeFile writes content to dir/rel, creating directories, and
// returns the path.
func writeFile(t testing.TB, dir, rel, content string) string {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newSource returns a Source on opts, closed at the end of the test.
func newSource(t testing.TB, opts Options) *Source {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v) = %v, want nil", opts, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fileSource writes content to a file and opens it with opts.
func fileSource(t testing.TB, content string, opts Options) *Source {
	t.Helper()
	opts.Path = writeFile(t, t.TempDir(), "mail", content)
	return newSource(t, opts)
}

func listAll(t testing.TB, s source.Source) []source.Ref {
	t.Helper()
	var refs []source.Ref
	if err := s.List(context.Background(), func(r source.Ref) error {
		refs = append(refs, r)
		return nil
	}); err != nil {
		t.Fatalf("List() = %v, want nil", err)
	}
	return refs
}

func readAll(t testing.TB, s *Source, ref source.Ref) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), ref)
	if err != nil {
		t.Fatalf("Open(%s) = %v, want nil", ref.ID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", ref.ID, err)
	}
	return b
}

// msgs turns LF-ended message texts into what Open must return.
func msgs(folder string, bodies ...string) []sourcetest.Message {
	var out []sourcetest.Message
	for _, b := range bodies {
		out = append(out, sourcetest.Message{Folder: folder, Body: sourcetest.CRLF([]byte(b))})
	}
	return out
}

func TestVariants(t *testing.T) {
	cl := func(body string) string { return "Content-Length: " + strconv.Itoa(len(body)) + "\n\n" + body }
	cl2Body := "line1\n\nFrom me Fri Jul  8 12:08:34 2011\n>From keep\n"
	tests := []struct {
		name    string
		variant Variant
		file    string
		want    []string
	}{{
		name: "mboxo",
		file: from1 + "Subject: one\n\n>From the start.\na >From mid-line\n\n" + from2 + "Subject: two\n\nbody two\n",
		want: []string{"Subject: one\n\nFrom the start.\na >From mid-line\n", "Subject: two\n\nbody two\n"},
	}, {
		name: "mboxrd",
		file: from1 + "Subject: one\n\n>From x\n>>From y\n>>>From z\n>not from\n\n" + from2 + "Subject: two\n\n>From w\n",
		want: []string{"Subject: one\n\nFrom x\n>From y\n>>From z\n>not from\n", "Subject: two\n\nFrom w\n"},
	}, {
		name: "mboxcl2",
		file: from1 + "Subject: one\n" + cl(cl2Body) + "\n" + from2 + "Subject: two\n" + cl(">>From keep too\n"),
		want: []string{"Subject: one\n" + cl(cl2Body), "Subject: two\n" + cl(">>From keep too\n")},
	}, {
		name: "mboxcl",
		file: from1 + "Subject: one\n" + cl("a\n>From quoted\n") + "\n" + from2 + "Subject: two\n" + cl("b\n"),
		want: []string{"Subject: one\nContent-Length: 15\n\na\nFrom quoted\n", "Subject: two\n" + cl("b\n")},
	}, {
		name: "wrong Content-Length ignored",
		file: from1 + "Content-Length: 3\n\nlonger body\n\n" + from2 + "Content-Length: 999\n\nb\n",
		want: []string{"Content-Length: 3\n\nlonger body\n", "Content-Length: 999\n\nb\n"},
	}, {
		name:    "forced mboxo keeps >>From",
		variant: MBOXO,
		file:    from1 + "\n>From x\n>>From y\n",
		want:    []string{"\nFrom x\n>>From y\n"},
	}, {
		name:    "forced mboxrd",
		variant: MBOXRD,
		file:    from1 + "\n>From x\n>>From y\n",
		want:    []string{"\nFrom x\n>From y\n"},
	}, {
		name:    "forced mboxcl2 unquotes nothing",
		variant: MBOXCL2,
		file:    from1 + "\n>From x\n",
		want:    []string{"\n>From x\n"},
	}, {
		name:    "forced mboxo ignores Content-Length",
		variant: MBOXO,
		file:    from1 + cl("a\n\n"+from2+"b\n"),
		want:    []string{"Content-Length: " + strconv.Itoa(len("a\n\n"+from2+"b\n")) + "\n\na\n", "b\n"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fileSource(t, tt.file, Options{Variant: tt.variant})
			sourcetest.Check(t, s, msgs("", tt.want...))
		})
	}
}

func TestTraps(t *testing.T) {
	file := from1 + "Subject: traps\n\n" +
		"From here on we do things differently.\n" +
		"text\n" +
		"From carol Fri Jul  8 12:08:34 2011\n" + // full form, not after a blank line
		"\n" +
		"From Monday on, the office is closed.\n" +
		"\n" +
		"From dave Fri Jul  8 12:08:34 2011 says hello\n" + // after a blank line, not the full form
		"\n" +
		from2 + "Subject: two\n\nend\n\n"
	s := fileSource(t, file, Options{})
	want := msgs("",
		"Subject: traps\n\nFrom here on we do things differently.\ntext\nFrom carol Fri Jul  8 12:08:34 2011\n\nFrom Monday on, the office is closed.\n\nFrom dave Fri Jul  8 12:08:34 2011 says hello\n",
		"Subject: two\n\nend\n")
	sourcetest.Check(t, s, want)
	sourcetest.StopEarly(t, s)
}

func TestLineEnds(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"CRLF", strings.ReplaceAll(from1+"A: 1\n\nx\n>From y\n\n"+from2+"B: 2\n\nz\n", "\n", "\r\n"),
			[]string{"A: 1\r\n\r\nx\r\nFrom y\r\n", "B: 2\r\n\r\nz\r\n"}},
		{"lone CR kept", from1 + "A: 1\n\nx\ry\n", []string{"A: 1\r\n\r\nx\ry\r\n"}},
		{"no newline at EOF", from1 + "A: 1\n\nlast", []string{"A: 1\r\n\r\nlast"}},
		{"blank line at EOF", from1 + "A: 1\n\nlast\n\n", []string{"A: 1\r\n\r\nlast\r\n"}},
		{"two blank lines at EOF", from1 + "A: 1\n\nlast\n\n\n", []string{"A: 1\r\n\r\nlast\r\n\r\n"}},
		{"body ends in blank line", from1 + "A: 1\n\nx\n\n\n" + from2 + "B: 2\n", []string{"A: 1\r\n\r\nx\r\n\r\n", "B: 2\r\n"}},
		{"empty message skipped", from1 + "\n" + from2 + "B: 2\n", []string{"B: 2\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []sourcetest.Message
			for _, w := range tt.want {
				want = append(want, sourcetest.Message{Body: []byte(w)})
			}
			sourcetest.Check(t, fileSource(t, tt.file, Options{}), want)
		})
	}
}

func TestEmptyAndNotMbox(t *testing.T) {
	if refs := listAll(t, fileSource(t, "", Options{})); len(refs) != 0 {
		t.Errorf("empty file: List gave %d messages, want 0", len(refs))
	}
	path := writeFile(t, t.TempDir(), "notes.txt", "Dear diary,\nFrom "+"today on...\n")
	_, err := New(Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), "not an mbox") || !strings.Contains(err.Error(), path) {
		t.Errorf("New(not an mbox) = %v, want an error naming the file", err)
	}
	if _, err := New(Options{Path: filepath.Join(t.TempDir(), "missing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := New(Options{Path: path, Variant: "mmdf"}); err == nil {
		t.Errorf("New(Variant mmdf) = nil, want an error")
	}
}

func TestFlagsAndDeleted(t *testing.T) {
	file := from1 + "Status: RO\nX-Status: AF\n\nread\n\n" +
		from1 + "Status: O\n\nunread\n\n" +
		from1 + "Status: RO\nX-Status: D\n\ndeleted\n\n" +
		from1 + "X-Status: T\n\ndraft\n"
	s := fileSource(t, file, Options{})
	want := msgs("", "Status: RO\nX-Status: AF\n\nread\n", "Status: O\n\nunread\n", "X-Status: T\n\ndraft\n")
	want[0].Flags = []string{`\Seen`, `\Answered`, `\Flagged`}
	want[2].Flags = []string{`\Draft`}
	sourcetest.Check(t, s, want)

	s = fileSource(t, file, Options{IncludeDeleted: true})
	if refs := listAll(t, s); len(refs) != 4 || !equalStrings(refs[2].Flags, `\Seen`, `\Deleted`) {
		t.Errorf("IncludeDeleted: got %d messages, third with %q; want 4, third with [\\Seen \\Deleted]", len(refs), refs[2].Flags)
	}
}

func equalStrings(got []string, want ...string) bool {
	return strings.Join(got, " ") == strings.Join(want, " ")
}

func TestMozilla(t *testing.T) {
	file := "From - Fri Jul  8 12:08:34 2011\nX-Mozilla-Status: 0001\nX-Mozilla-Keys: $label1 work          \n\nread\n\n" +
		"From - Fri Jul  8 12:08:34 2011\nX-Mozilla-Status: 0009\nX-Mozilla-Keys:                     \n\nexpunged\n\n" +
		"From - Fri Jul  8 12:08:34 2011\nX-Mozilla-Status: 0006\n\nreplied\n"
	want := msgs("",
		"X-Mozilla-Status: 0001\nX-Mozilla-Keys: $label1 work          \n\nread\n",
		"X-Mozilla-Status: 0006\n\nreplied\n")
	want[0].Flags = []string{`\Seen`, "$label1", "work"}
	want[1].Flags = []string{`\Answered`, `\Flagged`}
	sourcetest.Check(t, fileSource(t, file, Options{Mozilla: true}), want)
	if refs := listAll(t, fileSource(t, file, Options{Mozilla: true, IncludeDeleted: true})); len(refs) != 2 {
		t.Errorf("Mozilla with IncludeDeleted listed %d messages, want 2 (expunged never)", len(refs))
	}
	refs := listAll(t, fileSource(t, file, Options{}))
	if len(refs) != 3 || len(refs[0].Flags) != 0 {
		t.Errorf("without Mozilla: %d messages, first flags %q; want 3, none", len(refs), refs[0].Flags)
	}
}

func TestDates(t *testing.T) {
	file := from1 + "Date: Fri, 08 Jul 2011 14:08:34 +0200\n\nhas Date\n\n" +
		from1 + "Received: from a by b; Fri, 08 Jul 2011 14:08:34 +0200\n\nhas Received\n\n" +
		from1 + "Date: garbage\n\nno usable date\n\n" +
		"From carol Fri Jul  8 12:08:34 2011 +0200\nSubject: zone\n\nzoned From line\n"
	refs := listAll(t, fileSource(t, file, Options{}))
	want := []time.Time{{}, {}, time.Date(2011, 7, 8, 12, 8, 34, 0, time.UTC), time.Date(2011, 7, 8, 10, 8, 34, 0, time.UTC)}
	if len(refs) != len(want) {
		t.Fatalf("List gave %d messages, want %d", len(refs), len(want))
	}
	for i, r := range refs {
		if !r.Date.Equal(want[i]) {
			t.Errorf("message %d: Date = %v, want %v", i, r.Date, want[i])
		}
	}
}

// thunderbirdTree writes a Local Folders directory and returns it.
func thunderbirdTree(t testing.TB) string {
	dir := t.TempDir()
	m := func(body string) string {
		return "From - Fri Jul  8 12:08:34 2011\nSubject: " + body + "\n\n" + body + "\n\n"
	}
	writeFile(t, dir, "Inbox", m("in1")+m("in2"))
	writeFile(t, dir, "Inbox.msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n")
	writeFile(t, dir, "Inbox.sbd/Work", m("work"))
	writeFile(t, dir, "Inbox.sbd/Work.msf", "mork")
	writeFile(t, dir, "Inbox.sbd/Work.sbd/2024", m("y2024"))
	writeFile(t, dir, "Envoyés", m("sent"))
	writeFile(t, dir, "Trash", "")
	writeFile(t, dir, "filterlog.html", "<html>")
	writeFile(t, dir, "msgFilterRules.dat", "version=\"9\"\n")
	writeFile(t, dir, "popstate.dat", "# POP3 State File\n")
	writeFile(t, dir, "folderTree.json", "{}")
	writeFile(t, dir, ".hidden", "From x")
	writeFile(t, dir, ".cache/Inbox", m("hidden"))
	writeFile(t, dir, "notes.txt", "not mail\n")
	return dir
}

func TestThunderbirdTree(t *testing.T) {
	dir := thunderbirdTree(t)
	var warned []string
	s := newSource(t, Options{Path: dir, Warn: func(p string, err error) {
		warned = append(warned, filepath.Base(p)+": "+err.Error())
	}})
	failed := failures(t, s)
	if len(failed) != 1 || failed["notes.txt#0#unreadable"] == nil {
		t.Errorf("failures %v, want one for notes.txt", failed)
	}
	var want []sourcetest.Message
	for _, m := range []struct{ folder, body string }{
		{"Envoyés", "sent"}, {"Inbox", "in1"}, {"Inbox", "in2"}, {"Inbox/Work", "work"}, {"Inbox/Work/2024", "y2024"},
	} {
		want = append(want, msgs(m.folder, "Subject: "+m.body+"\n\n"+m.body+"\n")...)
	}
	snap := snapshot(t, dir)
	sourcetest.Check(t, readable{s}, want)
	snap.check(t)
	if len(warned) != 0 {
		t.Errorf("warnings %q, want none", warned)
	}
	refs := listAll(t, readable{s})
	if !strings.HasPrefix(refs[3].ID, "Inbox.sbd/Work#") {
		t.Errorf("ID %q, want it to start with the relative path", refs[3].ID)
	}
}

// A snapshot holds the bytes and mtimes of every file under a directory.
type snap struct {
	dir   string
	files map[string]string
	times map[string]time.Time
}

func snapshot(t testing.TB, dir string) *snap {
	t.Helper()
	s := &snap{dir: dir, files: map[string]string{}, times: map[string]time.Time{}}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		s.times[p] = fi.ModTime()
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			s.files[p] = string(b)
		}
		return nil
	})
	return s
}

func (s *snap) check(t testing.TB) {
	t.Helper()
	after := snapshot(t, s.dir)
	if len(after.times) != len(s.times) {
		t.Errorf("%d files and directories after, %d before", len(after.times), len(s.times))
	}
	for p, mt := range s.times {
		if !after.times[p].Equal(mt) || after.files[p] != s.files[p] {
			t.Errorf("%s changed (mtime %v -> %v)", p, mt, after.times[p])
		}
	}
}

func TestOpenWithoutList(t *testing.T) {
	dir := thunderbirdTree(t)
	refs := listAll(t, newSource(t, Options{Path: dir}))
	fresh := newSource(t, Options{Path: dir})
	got := readAll(t, fresh, refs[3])
	if want := "Subject: work\r\n\r\nwork\r\n"; string(got) != want {
		t.Errorf("Open on a fresh source = %q, want %q", got, want)
	}
	for _, id := range []string{"../x#0#00", "nohash", "Inbox#999#0011223344556677"} {
		if _, err := fresh.Open(context.Background(), source.Ref{ID: id}); err == nil {
			t.Errorf("Open(%q) = nil error, want one", id)
		}
	}
}

func TestChangedFile(t *testing.T) {
	path := writeFile(t, t.TempDir(), "mail", from1+"A: 1\n\nhello\n")
	s := newSource(t, Options{Path: path})
	refs := listAll(t, s)
	writeFile(t, filepath.Dir(path), "mail", from1+"A: 1\n\nhellO\n")
	rc, err := s.Open(context.Background(), refs[0])
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("reading a changed message: %v, want source.ErrNotFound", err)
	}
}

func TestCloseClosesReaders(t *testing.T) {
	s := fileSource(t, from1+"A: 1\n\n"+strings.Repeat("x", 200<<10)+"\n", Options{})
	refs := listAll(t, s)
	rc, err := s.Open(context.Background(), refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if _, err := io.ReadAll(rc); err == nil {
		t.Errorf("read after Close: nil error, want one")
	}
	rc.Close()
	if err := s.List(context.Background(), func(source.Ref) error { return nil }); err == nil {
		t.Errorf("List after Close = nil, want an error")
	}
}

func TestLongLines(t *testing.T) {
	long := strings.Repeat("y", 3*chunkMax+17)
	quoted := ">From " + strings.Repeat("q", chunkMax) // quoted line longer than a chunk
	file := from1 + "A: 1\n\n" + long + "\r\n" + quoted + "\n" + long + "\n\n" + from2 + "B: 2\n"
	want := []sourcetest.Message{
		{Body: []byte("A: 1\r\n\r\n" + long + "\r\n" + quoted[1:] + "\r\n" + long + "\r\n")},
		{Body: []byte("B: 2\r\n")},
	}
	sourcetest.Check(t, fileSource(t, file, Options{}), want)
	if bytes.Contains(want[0].Body, []byte("\n\n")) {
		t.Fatal("bad fixture")
	}
}
