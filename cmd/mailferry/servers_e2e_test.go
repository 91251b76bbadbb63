package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/couriertest"
	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/servertest"
	"github.com/mailferry/mailferry/migrate/identity"
)

// An imapTarget is an IMAP server of the compatibility tests seen as a
// migration target: where to log in, its namespace, how to read back what
// it stores and what it changes in a message it stores.
type imapTarget struct {
	addr, user, pass string
	prefix, sep      string
	fetch            func(t *testing.T, folder string) [][]byte
	folders          func(t *testing.T) []string
	// alters is what the server does to a message it stores (nil: nothing).
	alters func([]byte) []byte
}

// folder is the target name of a source folder under its own name.
func (s *imapTarget) folder(name string) string {
	if name == "INBOX" {
		return name
	}
	return s.prefix + strings.ReplaceAll(name, "/", s.sep)
}

func bodies(msgs []servertest.Message) [][]byte {
	var out [][]byte
	for _, m := range msgs {
		out = append(out, crlf(m.Body))
	}
	return out
}

// compatTrees writes the archives of the compatibility issue under dir and
// seeds the POP3 maildrop of alice on dc: folder names with a dot, a
// percent sign, spaces at the ends and non-ASCII letters; 8-bit header
// fields (UTF-8 and Latin-1); messages without Message-ID; one message in
// both the maildrop and an archive. It returns the config's source items
// and what each source folder must end up holding (by source folder name).
func compatTrees(t *testing.T, dir string, dc *dovecottest.Server) (string, map[string][][]byte) {
	noID := func(from, subj, body string) []byte {
		return []byte("From: " + from + "\r\nTo: bob@example.org\r\nSubject: " + subj +
			"\r\nDate: Tue, 3 Mar 2026 10:00:00 +0100\r\n\r\n" + body)
	}
	shared := mail("shared@example.org", "in the maildrop and in Projects", "one copy only\r\n")
	pop := [][]byte{
		mail("p1@example.org", "plain", "from the maildrop\r\n"),
		mail("p2@example.org", "Réunion à 10 h", "UTF-8 subject\r\n"),
		noID("Zoë <zoe@example.org>", "no Message-ID, 8-bit From", "p3\r\n"),
		mail("p4-\xc3\xa9t\xc3\xa9@example.org", "8-bit Message-ID", "p4\r\n"),
		shared,
	}
	dc.Seed(t, "alice", "INBOX", pop)

	arch := filepath.Join(dir, "archives")
	when := time.Date(2019, 5, 4, 3, 2, 1, 0, time.UTC)
	md := filepath.Join(arch, "Maildir")
	m1 := mail("m1@example.org", "maildir inbox", "m1\r\n")
	m2 := noID("Ann <ann@example.org>", "Grüße ohne Message-ID", "m2\r\n")
	sent := mail("sent@example.org", "Envoyé", "sent\r\n")
	writeFile(t, filepath.Join(md, "new/1000.M1.host"), lf(m1), when)
	writeFile(t, filepath.Join(md, ".Projects/cur/1001.M2.host:2,S"), lf(shared), when)
	writeFile(t, filepath.Join(md, ".Projects/cur/1002.M3.host:2,S"), lf(m2), when)
	writeFile(t, filepath.Join(md, ".Re&AOc-us/cur/1003.M4.host:2,"), lf(mail("recus@example.org", "reçu", "r\r\n")), when)
	writeFile(t, filepath.Join(md, ".Sent/cur/1004.M5.host:2,S"), lf(sent), when)
	for _, d := range []string{"cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	mb := filepath.Join(arch, "mbox")
	mboxes := map[string][][]byte{
		"v1.2":   {mail("dot@example.org", "dotted folder", "d\r\n"), noID("x@example.org", "no ID in v1.2", "d2\r\n")},
		"50%":    {mail("pct@example.org", "percent folder", "p\r\n")},
		" edge ": {noID("Jürgen <j@example.org>", "edge spaces, 8-bit, no ID", "e\r\n")},
		"Été 2025": {
			mail("ete@example.org", "Été", "summer\r\n"),
			noID("=?utf-8?q?Fran=C3=A7ois?= <f@example.org>", "encoded word, no ID", "f\r\n"),
			noID("Andr\xe9 <a@example.org>", "Latin-1 From, no ID", "l1\r\n"),
		},
	}
	want := map[string][][]byte{
		"INBOX":    {pop[0], pop[1], pop[2], pop[3], m1},
		"Projects": {shared, m2},
		"Reçus":    {mail("recus@example.org", "reçu", "r\r\n")},
		"Sent":     {sent},
	}
	for name, msgs := range mboxes {
		var text strings.Builder
		for i, m := range msgs {
			fmt.Fprintf(&text, "From someone@example.org Sat May  4 03:02:%02d 2019\n%s\n", i, lf(m))
		}
		writeFile(t, filepath.Join(mb, name), []byte(text.String()), time.Time{})
		want[name] = msgs
	}
	sources := plainPOP3(dc) + "    folder: INBOX\n    delete: leave\n" + fmt.Sprintf("  - url: maildir:%s\n  - url: mbox:%s\n", md, mb)
	return sources, want
}

// renamedRE matches a line of the summary's "renamed:" list.
var renamedRE = regexp.MustCompile(`(?m)^  ("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*")`)

// renamed returns the summary's substitutes: wanted target name -> used.
func renamed(t *testing.T, out string) map[string]string {
	got := map[string]string{}
	for _, m := range renamedRE.FindAllStringSubmatch(out, -1) {
		w, err1 := strconv.Unquote(m[1])
		u, err2 := strconv.Unquote(m[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("summary line %q does not parse", m[0])
		}
		got[w] = u
	}
	return got
}

// copiedRE reads the summary's count of copied messages.
var copiedRE = regexp.MustCompile(`(?m)^copied:\s+(\d+)`)

func copied(t *testing.T, out string) int {
	m := copiedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no copied: line in\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestServersAsTargets migrates the same POP3 maildrop, Maildir++ tree and
// mbox tree into Dovecot, Cyrus 3.6 in both namespace modes and
// Courier-IMAP 5: each message lands once in its folder, byte for byte
// except for what the server itself changes (Cyrus's munge8bit), each
// folder under its own name or a substitute the summary lists; a second
// run, and a run with the state file deleted, copy nothing.
func TestServersAsTargets(t *testing.T) {
	targets := map[string]func(t *testing.T) *imapTarget{
		"dovecot": func(t *testing.T) *imapTarget {
			dc := dovecottest.Start(t, dovecottest.Options{SpecialUse: true, Users: []dovecottest.User{{Name: "bob", Password: imapPass}}})
			fetch := func(t *testing.T, folder string) [][]byte {
				var out [][]byte
				for _, m := range dc.Fetch(t, "bob", folder) {
					out = append(out, crlf(m.Body))
				}
				return out
			}
			return &imapTarget{addr: dc.IMAPAddr, user: "bob", pass: imapPass, sep: "/", fetch: fetch,
				folders: func(t *testing.T) []string { return dc.Folders(t, "bob") }}
		},
		"cyrus-classic": func(t *testing.T) *imapTarget { return cyrusTarget(t, false) },
		"cyrus-alt":     func(t *testing.T) *imapTarget { return cyrusTarget(t, true) },
		"courier": func(t *testing.T) *imapTarget {
			s := couriertest.Start(t, couriertest.Options{Users: []couriertest.User{{Name: "bob", Password: imapPass}}})
			return &imapTarget{addr: s.IMAPAddr, user: "bob", pass: imapPass, prefix: s.Prefix, sep: s.Separator,
				fetch: func(t *testing.T, folder string) [][]byte {
					msgs, err := servertest.Fetch(s.IMAPAddr, "bob", imapPass, folder)
					if err != nil {
						t.Fatalf("courier fetch %q: %v", folder, err)
					}
					return bodies(msgs)
				},
				folders: func(t *testing.T) []string {
					f, err := servertest.Folders(s.IMAPAddr, "bob", imapPass)
					if err != nil {
						t.Fatal(err)
					}
					return f
				}}
		},
	}
	for _, name := range []string{"dovecot", "cyrus-classic", "cyrus-alt", "courier"} {
		t.Run(name, func(t *testing.T) { migrateInto(t, targets[name](t)) })
	}
}

func cyrusTarget(t *testing.T, alt bool) *imapTarget {
	s := cyrustest.Start(t, cyrustest.Options{AltNamespace: alt, Users: []cyrustest.User{{Name: "bob", Password: imapPass}}})
	return &imapTarget{addr: s.IMAPAddr, user: "bob", pass: imapPass, prefix: s.Prefix, sep: s.Separator, alters: identity.Munge,
		fetch: func(t *testing.T, folder string) [][]byte {
			if folder == "INBOX" {
				folder = ""
			}
			return bodies(s.Fetch(t, "bob", folder))
		},
		folders: func(t *testing.T) []string { return s.Folders(t, "bob") }}
}

func migrateInto(t *testing.T, tgt *imapTarget) {
	src := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{{Name: "alice", Password: popPass}}})
	dir := t.TempDir()
	sources, want := compatTrees(t, dir, src)
	e := &e2e{t: t, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := fmt.Sprintf("state: %s\ntarget:\n  url: imap://%s@%s\n  tls: none\n  allow_plaintext: true\nsources:\n%s",
		filepath.Join(dir, "state.db"), tgt.user, tgt.addr, sources)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, out := e.run(nil)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	total := 0
	for _, msgs := range want {
		total += len(msgs)
	}
	t.Logf("first run: %d messages in %v", total, time.Since(start).Round(time.Millisecond))
	if n := copied(t, out); n != total {
		t.Errorf("copied %d, want %d:\n%s", n, total, out)
	}
	subs := renamed(t, out)
	check := func(run string) {
		t.Helper()
		folders := tgt.folders(t)
		for name, msgs := range want {
			f := tgt.folder(name)
			if u, ok := subs[f]; ok {
				f = u
			}
			if !slices.Contains(folders, f) {
				t.Errorf("%s: folder %q (for %q) not on the server; it lists %q", run, f, name, folders)
				continue
			}
			var wantBytes [][]byte
			for _, m := range msgs {
				if tgt.alters != nil {
					m = tgt.alters(m)
				}
				wantBytes = append(wantBytes, m)
			}
			t.Run(run+"/"+name, func(t *testing.T) { wantEachOnce(t, tgt.fetch(t, f), wantBytes) })
		}
	}
	check("first run")
	for w, u := range subs {
		t.Logf("substitute: %q -> %q", w, u)
	}

	if code, out := e.run(nil); code != exitOK || copied(t, out) != 0 {
		t.Fatalf("second run: exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "state.db")); err != nil {
		t.Fatal(err)
	}
	code, out = e.run(nil)
	if code != exitOK || copied(t, out) != 0 {
		t.Fatalf("run with the state file deleted: exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	if again := renamed(t, out); !maps(again, subs) {
		t.Errorf("substitutes changed with the state lost: %q, first run %q", again, subs)
	}
	check("state lost")
	// Every copy is confirmed on the target, so deletion from the POP3
	// maildrop takes every message (Cyrus: by its munged form too).
	text, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfgDelete := strings.Replace(string(text), "delete: leave", "delete: after-upload", 1)
	if err := os.WriteFile(e.config, []byte(cfgDelete+"settle: 500ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = e.run(nil)
	if code != exitOK || copied(t, out) != 0 {
		t.Fatalf("run with delete: after-upload: exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	if left := src.Fetch(t, "alice", "INBOX"); len(left) != 0 {
		t.Errorf("the maildrop still holds %d message(s) after delete: after-upload:\n%s", len(left), out)
	}
	if err := os.WriteFile(e.config, text, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = e.runSub("verify")
	if tgt.alters == nil {
		if code != exitOK || !strings.Contains(out, "OK: every source message") {
			t.Errorf("verify: exit %d, want 0:\n%s", code, out)
		}
	} else if code != exitOK || !strings.Contains(out, "stored altered") || !strings.Contains(out, "Cyrus munge8bit") {
		t.Errorf("verify: exit %d, want 0 and the messages the server altered listed as such:\n%s", code, out)
	}
}
