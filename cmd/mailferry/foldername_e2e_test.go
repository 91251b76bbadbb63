package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// A hostileName is a folder name an archive can hold that means something
// in IMAP syntax or to a server, and the name mailferry's mapping
// (migrate/folders.go) gives it under the source's base folder.
type hostileName struct {
	disk   string // as the mbox file or eml directory is named
	target string
}

var hostileNames = []hostileName{
	{`quote"d`, `quote"d`},
	{`back\slash`, `back\slash`},
	{`lit{5}`, `lit{5}`},
	{`lit{5+}`, `lit{5+}`},
	{`star*`, `star*`},
	{`pct%`, `pct%`},
	{"dot.ted", "dot．ted"}, // Dovecot storing Maildir++ refuses ".": the substitute
	{`paren)`, `paren)`},
	{`inj" INBOX (\Deleted) "x`, `inj" INBOX (\Deleted) "x`},
	{`AT&T`, `AT&T`},
	{" lead", " lead"},
	{"trail ", "trail "},
	{"cr\rlf\nx", "cr%0Dlf%0Ax"},
	{"esc\x1b[2Jx", "esc%1B[2Jx"},
	{"Reçus", "Reçus"},
	{"caf\xe9", "caf%E9"}, // Latin-1 on disk: not merged with caf\xe8 into U+FFFD
	{"caf\xe8", "caf%E8"},
	{"~tilde", "~tilde"},
	{strings.Repeat("L", 250), strings.Repeat("L", 250)},
	{strings.Repeat("é", 127), strings.Repeat("é", 127)}, // Dovecot: too long (see tooLong)
}

// maildirNames are Maildir++ names, stored in modified UTF-7 on disk.
var maildirNames = []hostileName{
	{"Re&AOc-us2", "Reçus2"},
	{"cr&AA0-lf&AAo-utf7", "cr%0Dlf%0Autf7"},
	{"nul&AAA-x", "nul%00x"}, // NUL cannot be in a file name, but in its mUTF-7
}

// decoys are folders an injection or a mis-quoted name would hit: each
// holds one message before the run and must hold only it after.
var decoys = []string{"INBOX", "md/quote", "md/back", "md/lit", "md/star", "md/pct", "md/paren", "md/inj",
	"md/AT", "md/cr", "md/esc", "mb/quote", "mb/lit", "mb/star", "mb/inj", "em/quote", "em/lit", "em/star", "em/cr"}

// tooLong is a name Dovecot cannot hold: 127 "é" are 254 bytes of UTF-8
// but 341 of modified UTF-7, over its 255 bytes for a name.
var tooLong = strings.Repeat("é", 127)

// TestDovecotFolderNames migrates Maildir++, mbox and eml trees whose
// folder names hold IMAP syntax (quotes, backslashes, literals, LIST
// wildcards, parentheses), line ends and other control characters,
// spaces at the ends, invalid UTF-8, non-ASCII and very long names, into
// Dovecot: every message lands once in the folder the mapping names,
// folders that would take an injected command stay as they were, no other
// folder is made, and the summary prints names from the archive escaped.
// A name the server cannot hold fails its messages with the server's
// answer, not the run: "Mailbox name too long", or "Not found" when the
// Maildir++ directory name Dovecot would make is over 255 bytes.
func TestDovecotFolderNames(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	dir := t.TempDir()
	arch := filepath.Join(dir, "archives")
	want := map[string][][]byte{} // target folder -> messages
	n := 0
	msg := func(folder string) []byte {
		n++
		m := mail(fmt.Sprintf("f%03d@names.example", n), fmt.Sprintf("message %d", n), "filed in a hostile folder\r\n")
		if !strings.HasSuffix(folder, "/"+tooLong) {
			want[folder] = append(want[folder], m)
		}
		return lf(m)
	}
	for _, d := range decoys {
		dc.Seed(t, "bob", d, [][]byte{msg(d)})
	}
	md, mb, em := filepath.Join(arch, "Maildir"), filepath.Join(arch, "mbox"), filepath.Join(arch, "eml")
	names := append(append(slices.Clone(hostileNames), maildirNames...), hostileName{"zzz last", "zzz last"})
	writeFile(t, filepath.Join(md, "cur", "1.top:2,"), msg("md"), time.Time{})
	for i, h := range names {
		if !strings.Contains(h.disk, ".") { // in Maildir++, "." separates folders
			writeFile(t, filepath.Join(md, "."+h.disk, "cur", fmt.Sprintf("%d.x:2,", i)), msg("md/"+h.target), time.Time{})
		}
		if i >= len(hostileNames) && h.disk != "zzz last" {
			continue // Maildir++ only
		}
		writeFile(t, filepath.Join(mb, h.disk), append([]byte(fromLine), msg("mb/"+h.target)...), time.Time{})
		writeFile(t, filepath.Join(em, h.disk, "1.eml"), msg("em/"+h.target), time.Time{})
	}
	long := strings.Repeat("M", 255) // Dovecot's directory ".mb.MMM…" would be 259 bytes
	writeFile(t, filepath.Join(mb, long), append([]byte(fromLine), msg("mb/"+tooLong)...), time.Time{})
	writeFile(t, filepath.Join(em, "cr\rlf\nx", "0-empty.eml"), nil, time.Time{}) // fails: a zero byte message
	before := snapshot(t, arch)
	refused := func(kind, dir, id, folder, reason string) failureLine {
		return failureLine{"  " + kind + ":" + dir + " message " + id, ` -> ` + folder + `: cannot create the folder "` + folder + `": imap: NO ` + reason}
	}
	failures := []failureLine{
		refused("maildir", md, tooLong+"/", "md/"+tooLong, "[CANNOT] Mailbox name too long"),
		refused("mbox", mb, tooLong+"#", "mb/"+tooLong, "[CANNOT] Mailbox name too long"),
		refused("eml", em, tooLong+"/1.eml", "em/"+tooLong, "[CANNOT] Mailbox name too long"),
		refused("mbox", mb, long+"#", "mb/"+long, "Not found"),
		{"  eml:" + em + ` message cr\rlf\nx/0-empty.eml -> em/cr%0Dlf%0Ax: `, "Can't save a zero byte message"},
	}
	// Each tree's dotted folder lands under its substitute, and the
	// summary of the run that copied into it says so, with Dovecot's
	// reason.
	renamed := []string{
		`  "mb/dot.ted" -> "mb/dot．ted" (imap: NO [CANNOT] Character not allowed in mailbox name: '.'`,
		`  "em/dot.ted" -> "em/dot．ted" (imap: NO [CANNOT] Character not allowed in mailbox name: '.'`,
	}

	e := &e2e{t: t, dc: dc, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := plainTarget(dir, dc) + fmt.Sprintf(`sources:
  - url: maildir:%s
    folder: md
  - url: mbox:%s
    folder: mb
  - url: eml:%s
    folder: em
`, md, mb, em)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"first run", "re-run"} {
		code, out := e.run(nil)
		if code != exitFailed {
			t.Errorf("%s: exit %d, want %d (some messages fail)", run, code, exitFailed)
		}
		if run == "re-run" && !strings.Contains(out, "copied:          0 (") {
			t.Errorf("re-run copied something")
		}
		wantFailureLines(t, run, out, failures)
		for _, r := range renamed {
			if run == "first run" && !strings.Contains(out, r) {
				t.Errorf("%s: the summary does not list the substitute %s", run, r)
			}
		}
		if strings.Contains(out, "\r") {
			t.Errorf("%s: the output holds a raw CR", run)
		}
		checkFolders(t, run, dc, want)
		if t.Failed() {
			t.Fatalf("%s:\n%s", run, out)
		}
	}
	if after := snapshot(t, arch); !maps(after, before) {
		t.Errorf("archive files changed")
	}
}

// A failureLine is a line the summary must list: its start, and text in it.
type failureLine struct{ prefix, text string }

// wantFailureLines checks that the summary lists exactly want.
func wantFailureLines(t *testing.T, run, out string, want []failureLine) {
	t.Helper()
	lines := failureLines(out)
	for _, w := range want {
		found := 0
		for _, l := range lines {
			if strings.HasPrefix(l, w.prefix) && strings.Contains(l, w.text) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%s: %d failure lines start %q and say %q, want 1", run, found, w.prefix, w.text)
		}
	}
	if len(lines) != len(want) || !strings.Contains(out, fmt.Sprintf("failed:          %d\n", len(want))) {
		t.Errorf("%s: %d failures, want %d:\n%s", run, len(lines), len(want), strings.Join(lines, "\n"))
	}
}

// checkFolders checks that bob's account holds exactly the folders of
// want, each with exactly its messages.
func checkFolders(t *testing.T, run string, dc *dovecottest.Server, want map[string][][]byte) {
	t.Helper()
	var names []string
	for f := range want {
		names = append(names, f)
	}
	names = append(names, "em", "mb") // \Noselect parents
	slices.Sort(names)
	folders := dc.Folders(t, "bob")
	if !slices.Equal(folders, names) {
		extra, missing := diff(folders, names), diff(names, folders)
		t.Errorf("%s: folders: %q unexpected, %q missing", run, extra, missing)
	}
	for f, msgs := range want {
		if !slices.Contains(folders, f) {
			continue
		}
		var got [][]byte
		for _, m := range dc.Fetch(t, "bob", f) {
			got = append(got, m.Body)
		}
		t.Run(run+" "+f, func(t *testing.T) { wantEachOnce(t, got, msgs) })
	}
}

// diff returns the elements of a not in b.
func diff(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
