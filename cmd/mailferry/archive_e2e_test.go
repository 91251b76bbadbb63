package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// snapshot records every file's bytes and mtime under root.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		snap[p] = fmt.Sprintf("%x %v", sha256.Sum256(b), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func writeFile(t *testing.T, p string, b []byte, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func lf(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), "\r\n", "\n")) }

// TestDovecotArchivesAndPOP3 migrates a Maildir++ tree, an mbox file, a
// tree of .eml files and the POP3 maildrop that fed them, together, into
// Dovecot with SPECIAL-USE folders: each message lands once, in the user's
// folder, with its flags and dates, and no archive file changes.
func TestDovecotArchivesAndPOP3(t *testing.T) {
	for _, l := range []struct{ sep, prefix string }{{"/", ""}, {".", "INBOX."}} {
		t.Run("separator "+l.sep, func(t *testing.T) { archivesAndPOP3(t, l.sep, l.prefix) })
	}
}

func archivesAndPOP3(t *testing.T, sep, prefix string) {
	a := mail("a@example.org", "a", "in the POP3 maildrop only\r\n")
	b := mail("b@example.org", "b", "filed into Projects, still on the server\r\n")
	c := mail("c@example.org", "c", "POP3 only too\r\n")
	sent := mail("sent@example.org", "sent", "I wrote this\r\n")
	d := mail("d@example.org", "d", "new in the maildir\r\n")
	e := mail("e@example.org", "e", "mbox, read\r\n\r\nFrom the start this line is a trap\r\n")
	f := mail("f@example.org", "f", "mbox, flagged\r\n")
	g := mail("g@example.org", "g", "an eml file with LF line endings\r\n")
	h := mail("h@example.org", "h", "in a folder with a non-ASCII name\r\n")

	dc := dovecottest.Start(t, dovecottest.Options{SpecialUse: true, Separator: sep, Prefix: prefix, Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	dc.Seed(t, "alice", "INBOX", [][]byte{a, b, c})
	dir := t.TempDir()
	arch := filepath.Join(dir, "archives")
	when := time.Date(2019, 5, 4, 3, 2, 1, 0, time.UTC)
	writeFile(t, filepath.Join(arch, "Maildir/new/1000.M1.host"), lf(d), when)
	writeFile(t, filepath.Join(arch, "Maildir/.Projects/cur/1001.M2.host:2,RS"), lf(b), when)
	writeFile(t, filepath.Join(arch, "Maildir/.Sent/cur/1002.M3.host:2,S"), lf(sent), when)
	os.MkdirAll(filepath.Join(arch, "Maildir/cur"), 0o755)
	os.MkdirAll(filepath.Join(arch, "Maildir/tmp"), 0o755)
	// The flags' header fields stay in the message: mailferry changes no byte.
	eStored := append([]byte("Status: RO\r\n"), e...)
	fStored := append([]byte("X-Status: F\r\n"), f...)
	mboxText := "From someone@example.org Sat May  4 03:02:01 2019\n" + string(lf(eStored)) +
		"\nFrom someone@example.org Sat May  4 03:02:02 2019\n" + string(lf(fStored)) + "\n"
	writeFile(t, filepath.Join(arch, "old.mbox"), []byte(mboxText), time.Time{})
	writeFile(t, filepath.Join(arch, "eml/Old/g.eml"), lf(g), time.Time{})
	writeFile(t, filepath.Join(arch, "eml/Reçus 2019/Ü.eml"), lf(h), time.Time{}) // modified UTF-7 on the wire
	before := snapshot(t, arch)

	e2 := &e2e{t: t, dc: dc, dir: dir}
	e2.config = filepath.Join(dir, "mailferry.yaml")
	cfg := plainTarget(dir, dc) + "sources:\n" + plainPOP3(dc) + fmt.Sprintf(`  - url: maildir:%s
  - url: mbox:%s
  - url: eml:%s
`, filepath.Join(arch, "Maildir"),
		filepath.Join(arch, "old.mbox"), filepath.Join(arch, "eml"))
	if err := os.WriteFile(e2.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := e2.run(nil)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}

	name := func(f string) string {
		if f == "INBOX" {
			return f
		}
		return prefix + f
	}
	want := map[string][][]byte{"INBOX": {a, c, d}, "Projects": {b}, "Sent": {sent}, "old": {eStored, fStored}, "Old": {g}, "Reçus 2019": {h}}
	for f, msgs := range want {
		folder := name(f)
		var got [][]byte
		for _, m := range dc.Fetch(t, "bob", folder) {
			got = append(got, crlf(m.Body))
		}
		t.Run(folder, func(t *testing.T) { wantEachOnce(t, got, msgs) })
	}
	flags := map[string][]string{}
	dates := map[string]time.Time{}
	for _, folder := range []string{"INBOX", "Projects", "Sent", "old"} {
		for _, m := range dc.Fetch(t, "bob", name(folder)) {
			subj := subject(m.Body)
			fl := slices.DeleteFunc(slices.Clone(m.Flags), func(f string) bool { return f == `\Recent` })
			slices.Sort(fl)
			flags[folder+"/"+subj] = fl
			dates[folder+"/"+subj] = m.InternalDate
		}
	}
	wantFlags := map[string][]string{"INBOX/a": nil, "INBOX/d": nil, "Projects/b": {`\Answered`, `\Seen`},
		"Sent/sent": {`\Seen`}, "old/e": {`\Seen`}, "old/f": {`\Flagged`}}
	for k, w := range wantFlags {
		if !slices.Equal(flags[k], w) {
			t.Errorf("flags of %s = %v, want %v", k, flags[k], w)
		}
	}
	if !dates["Projects/b"].Equal(when) {
		t.Errorf("internal date of Projects/b = %v, want the Maildir file's mtime %v", dates["Projects/b"], when)
	}
	if got := dc.Folders(t, "bob"); !slices.Contains(got, name("Sent")) || slices.Contains(got, name("Sent Messages")) {
		t.Errorf("folders %v: want %s (the SPECIAL-USE folder) used", got, name("Sent"))
	}
	if after := snapshot(t, arch); !maps(after, before) {
		t.Fatalf("archive files changed:\nbefore %v\nafter  %v", before, after)
	}
	// Nothing new: a second run copies nothing.
	if code, out := e2.run(nil); code != exitOK || !strings.Contains(out, "copied:          0") {
		t.Fatalf("re-run exit %d, want 0 and nothing copied:\n%s", code, out)
	}
}

func subject(b []byte) string {
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
