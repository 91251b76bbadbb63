package eml

import (
	"bytes"
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

// msg returns a small message with LF line endings.
func msg(subject string) string {
	return "From: a@example.org\nSubject: " + subject + "\n\nbody of " + subject + "\n"
}

// wantCRLF is msg(subject) as Open must return it.
func wantCRLF(subject string) []byte { return sourcetest.CRLF([]byte(msg(subject))) }

// plist is an Apple Mail plist with the given flags and date received.
func plist(flags uint64, received string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>date-last-viewed</key>
	<integer>1556970000</integer>
	<key>date-received</key>
	` + received + `
	<key>flags</key>
	<integer>` + fmt.Sprint(flags) + `</integer>
	<key>gmail-labels</key>
	<array><string>\Important</string></array>
	<key>remote-id</key>
	<string>4711</string>
</dict>
</plist>
`
}

// emlx builds an .emlx file around body; the byte count is padded with
// spaces as Apple Mail writes it.
func emlx(body string, flags uint64, received string) string {
	return fmt.Sprintf("%-10d\n%s%s", len(body), body, plist(flags, received))
}

const received = 1556965800 // 2019-05-04 10:30:00 UTC

func intDate(sec int) string { return fmt.Sprintf("<integer>%d</integer>", sec) }

var tree = []sourcetest.File{
	{Path: "top.eml", Body: string(wantCRLF("top"))},
	{Path: "bom.eml", Body: "\ufeff" + msg("bom")},
	{Path: "notes.txt", Body: "not mail\n"},
	{Path: "._top.eml", Body: "\x00\x05\x16\x07AppleDouble"},
	{Path: "Projects/b.eml", Body: msg("b")},
	{Path: "Projects/2020/a.EML", Body: "From: x\r\nSubject: mixed\n\r\nline\r\n"},
	{Path: "Apple/Work.mbox/Info.plist", Body: plist(0, intDate(0))},
	{Path: "Apple/Work.mbox/Messages/1.emlx", Body: emlx(msg("read replied"), emlxRead|emlxAnswered, intDate(received))},
	{Path: "Apple/Work.mbox/Messages/4.emlx", Body: emlx(msg("deleted"), emlxRead|emlxDeleted, intDate(received))},
	{Path: "Apple/Work.mbox/4F2A9C1E-0000-4000-8000-00000000CAFE/Data/3/Messages/2.emlx",
		Body: emlx(msg("flagged draft forwarded"), emlxFlagged|emlxDraft|emlxForwarded, "<real>1556965800.5</real>")},
	{Path: "Apple/Work.mbox/Old.mbox/Messages/3.emlx", Body: emlx(msg("high bits"), 8590195713, intDate(received+60))},
}

func treeWant() []sourcetest.Message {
	at := time.Unix(received, 0)
	return []sourcetest.Message{
		{Folder: "Apple/Work", Body: wantCRLF("flagged draft forwarded"), Flags: []string{`\Flagged`, `\Draft`, `$Forwarded`}, Date: at.Add(time.Second / 2)},
		{Folder: "Apple/Work", Body: wantCRLF("read replied"), Flags: []string{`\Seen`, `\Answered`}, Date: at},
		{Folder: "Apple/Work/Old", Body: wantCRLF("high bits"), Flags: []string{`\Seen`}, Date: at.Add(time.Minute)},
		{Folder: "Projects/2020", Body: []byte("From: x\r\nSubject: mixed\r\n\r\nline\r\n")},
		{Folder: "Projects", Body: wantCRLF("b")},
		{Folder: "", Body: append([]byte("\ufeff"), wantCRLF("bom")...)},
		{Folder: "", Body: wantCRLF("top")},
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

func TestTree(t *testing.T) {
	root := sourcetest.Build(t, tree)
	before := sourcetest.Snapshot(t, root)
	var warnings []string
	src := newSource(t, Options{Path: root, Warn: func(p string, err error) {
		warnings = append(warnings, fmt.Sprintf("%s: %v", p, err))
	}})
	sourcetest.Check(t, src, treeWant())
	sourcetest.StopEarly(t, src)
	sourcetest.Unchanged(t, root, before)
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
}

func TestIDsAndDeleted(t *testing.T) {
	root := sourcetest.Build(t, tree)
	src := newSource(t, Options{Path: root, IncludeDeleted: true})
	var got []string
	src.List(context.Background(), func(r source.Ref) error {
		got = append(got, fmt.Sprintf("%s %v", r.ID, r.Flags))
		return nil
	})
	want := []string{
		`Apple/Work.mbox/4F2A9C1E-0000-4000-8000-00000000CAFE/Data/3/Messages/2.emlx [\Flagged \Draft $Forwarded]`,
		`Apple/Work.mbox/Messages/1.emlx [\Seen \Answered]`,
		`Apple/Work.mbox/Messages/4.emlx [\Seen \Deleted]`,
		`Apple/Work.mbox/Old.mbox/Messages/3.emlx [\Seen]`,
		`Projects/2020/a.EML []`, `Projects/b.eml []`, `bom.eml []`, `top.eml []`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("listed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMalformedEMLX(t *testing.T) {
	body := msg("bad")
	good := emlx(body, emlxRead, intDate(received))
	cases := map[string]struct{ file, reason string }{
		"too-large.emlx": {strings.Replace(good, fmt.Sprint(len(body)), "99999", 1), "byte count 99999 exceeds"},
		"too-small.emlx": {strings.Replace(good, fmt.Sprint(len(body)), fmt.Sprint(len(body)-5), 1), "not its plist"},
		"no-plist.emlx":  {fmt.Sprintf("%d\n%s", len(body), body), "no plist"},
		"not-count.emlx": {body, "is not a byte count"},
		"cut-plist.emlx": {good[:len(good)-20], "not its plist"},
		"bad-flags.emlx": {fmt.Sprintf("%d\n%s%s", len(body), body, strings.Replace(plist(1, intDate(0)), "<integer>1</integer>", "<integer>x</integer>", 1)), "flags"},
	}
	var samples []sourcetest.File
	for name, c := range cases {
		samples = append(samples, sourcetest.File{Path: name, Body: c.file})
	}
	root := sourcetest.Build(t, samples)
	before := sourcetest.Snapshot(t, root)
	src := newSource(t, Options{Path: root})
	refs := listAll(t, src)
	if len(refs) != len(cases) {
		t.Fatalf("listed %d files, want all %d", len(refs), len(cases))
	}
	for name, c := range cases {
		if len(refs[name].Flags) != 0 || !refs[name].Date.IsZero() {
			t.Errorf("%s listed with %v %v, want no flags and no date", name, refs[name].Flags, refs[name].Date)
		}
		_, err := readAll(src, refs[name])
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), filepath.Join(root, name)) ||
			!strings.Contains(err.Error(), c.reason) {
			t.Errorf("Open(%s) = %v, want ErrMalformed with the path and %q", name, err, c.reason)
		}
	}
	sourcetest.Unchanged(t, root, before)
}

func listAll(t *testing.T, src *Source) map[string]source.Ref {
	t.Helper()
	refs := map[string]source.Ref{}
	if err := src.List(context.Background(), func(r source.Ref) error { refs[r.ID] = r; return nil }); err != nil {
		t.Fatalf("List() = %v", err)
	}
	return refs
}

func readAll(src *Source, ref source.Ref) ([]byte, error) {
	rc, err := src.Open(context.Background(), ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestSingleFile(t *testing.T) {
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "one.eml", Body: msg("one")},
		{Path: "two.emlx", Body: emlx(msg("two"), emlxRead, intDate(received))},
		{Path: "three.msg.txt", Body: msg("three")},
		{Path: "x.partial.emlx", Body: emlx(msg("x"), 0, intDate(received))},
	})
	for file, want := range map[string]sourcetest.Message{
		"one.eml":       {Body: wantCRLF("one")},
		"two.emlx":      {Body: wantCRLF("two"), Flags: []string{`\Seen`}, Date: time.Unix(received, 0)},
		"three.msg.txt": {Body: wantCRLF("three")},
	} {
		src := newSource(t, Options{Path: filepath.Join(root, file)})
		sourcetest.Check(t, src, []sourcetest.Message{want})
		if _, err := readAll(src, source.Ref{ID: "one.eml"}); file != "one.eml" && !errors.Is(err, source.ErrNotFound) {
			t.Errorf("source of %s: Open(one.eml) = %v, want ErrNotFound", file, err)
		}
	}
	if _, err := New(Options{Path: filepath.Join(root, "x.partial.emlx")}); err == nil {
		t.Error("New(.partial.emlx) = nil error, want one")
	}
	if _, err := New(Options{Path: filepath.Join(root, "none")}); err == nil {
		t.Error("New(missing path) = nil error, want one")
	}
}

func TestVanishedAndOutside(t *testing.T) {
	outer := sourcetest.Build(t, []sourcetest.File{{Path: "secret.eml", Body: msg("secret")}, {Path: "tree/a.eml", Body: msg("a")}})
	src := newSource(t, Options{Path: filepath.Join(outer, "tree")})
	refs := listAll(t, src)
	os.Remove(filepath.Join(outer, "tree/a.eml"))
	if _, err := readAll(src, refs["a.eml"]); !errors.Is(err, source.ErrNotFound) {
		t.Errorf("Open(vanished) = %v, want source.ErrNotFound", err)
	}
	for _, id := range []string{"../secret.eml", "/etc/passwd", ""} {
		if b, err := readAll(src, source.Ref{ID: id}); err == nil {
			t.Errorf("Open(%q) = %q, want an error", id, b)
		}
	}
}

func TestFolderOf(t *testing.T) {
	for dir, want := range map[string]string{
		".":                                      "",
		"a":                                      "a",
		"a/b":                                    "a/b",
		"Work.mbox/Messages":                     "Work",
		"V10/ACC/INBOX.mbox/U/Data/1/2/Messages": "V10/ACC/INBOX",
		"Work.mbox/Old.mbox/Messages":            "Work/Old",
		".mbox/x":                                ".mbox/x",
	} {
		if got := folderOf(dir); got != want {
			t.Errorf("folderOf(%q) = %q, want %q", dir, got, want)
		}
	}
}

func FuzzEMLX(f *testing.F) {
	body := msg("fuzz")
	f.Add([]byte(emlx(body, emlxRead|emlxFlagged, intDate(received))))
	f.Add([]byte(emlx(body, 1<<40, "<real>-1.5e3</real>")))
	f.Add([]byte("5\nhello<plist><dict/></plist>"))
	f.Add([]byte("99\nshort"))
	f.Add([]byte("3\nabc<plist><dict><key>flags</key><dict/></dict></plist>"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseEMLX(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parseEMLX error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if m.off <= 0 || m.n < 0 || m.off+m.n >= int64(len(data)) {
			t.Fatalf("parseEMLX = message at [%d, %d+%d) of %d bytes, leaving no plist", m.off, m.off, m.n, len(data))
		}
	})
}
