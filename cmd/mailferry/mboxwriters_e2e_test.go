package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// TestDovecotThunderbirdBareSeparators migrates a Thunderbird profile
// whose Inbox began with "From - date" separators and then got messages
// from Thunderbird 122 to 131, which wrote bare "From " lines, and a git
// format-patch mbox without blank lines between patches: every message
// lands once, byte for byte, verify agrees, and a re-run copies nothing.
// Then a folder whose file is no mbox at all (a crash wiped it) is a
// failure: listed in the summary with its reason, exit 1, not a warning
// and exit 0.
func TestDovecotThunderbirdBareSeparators(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	dir := t.TempDir()
	prof := filepath.Join(dir, "profile")
	acct := filepath.Join(prof, "Mail", "pop.example.org")

	// Messages as Thunderbird keeps them (X-Mozilla-Status added), LF.
	old1 := tbMail(mail("tbsep-old1@example.org", "old 1", "written by Thunderbird 115\r\n"), "0001")
	old2 := tbMail(mail("tbsep-old2@example.org", "old 2", "also old\r\n\r\n"), "0001")
	new1 := tbMail(mail("tbsep-new1@example.org", "new 1", "Written by 128.\r\nFrom the start, quoted.\r\n"), "0000")
	new2 := tbMail(mail("tbsep-new2@example.org", "new 2",
		"Forwarded inline:\r\n\r\nFrom \r\nTo: nobody@example.org\r\n\r\nnot a message of its own\r\n"), "0001")
	new3 := tbMail(mail("tbsep-new3@example.org", "new 3", "last\r\n"), "0001")
	// Older versions left "From " in bodies unquoted: a body line, since
	// no header follows it.
	unq := tbMail(mail("tbsep-unquoted@example.org", "unquoted", "Before:\r\n\r\nFrom \r\nthe line above was not quoted.\r\n"), "0001")
	rdQuote := func(m []byte) []byte {
		var out []string
		for _, l := range strings.SplitAfter(string(m), "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, ">"), "From ") {
				l = ">" + l
			}
			out = append(out, l)
		}
		return []byte(strings.Join(out, ""))
	}
	var inbox []byte
	for _, m := range [][]byte{old1, unq, old2} {
		inbox = append(inbox, "From - Sat May  4 03:02:01 2019\n"...)
		inbox = append(inbox, m...)
		inbox = append(inbox, '\n')
	}
	for _, m := range [][]byte{new1, new2, new3} {
		inbox = append(inbox, "From \r\n"...) // the bare separator, as Thunderbird 122-131 wrote it
		inbox = append(inbox, rdQuote(m)...)
		inbox = append(inbox, '\n')
	}
	inboxWant := [][]byte{old1, unq, old2, new1, new2, new3}

	// git format-patch output as mailsplit reads it: no blank line before
	// each "From <sha>" line.
	var patchWant [][]byte
	var patchFile []byte
	for i, sha := range []string{strings.Repeat("1f", 20), strings.Repeat("2e", 20)} {
		p := []byte(fmt.Sprintf("From: Dev <dev@example.org>\nDate: Tue, 2 Jan 2024 10:0%d:00 +0100\nMessage-ID: <patch-%d@example.org>\n"+
			"Subject: [PATCH %d/2] change %d\n\n---\n f.c | 2 +-\n\n-old\n+new\n-- \n2.43.0\n", i, i, i+1, i))
		patchFile = append(patchFile, "From "+sha+" Mon Sep 17 00:00:00 2001\n"...)
		patchFile = append(patchFile, p...)
		patchWant = append(patchWant, crlf(p))
	}
	patchPath := filepath.Join(dir, "patches.mbox")
	// White space before the first From line, as some tools leave it.
	writeFile(t, patchPath, append([]byte(" \n\n"), patchFile...), time.Time{})

	prefs := `user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/pop.example.org");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server1.name", "alice@example.org");
`
	writeFile(t, filepath.Join(prof, "prefs.js"), []byte(prefs), time.Time{})
	writeFile(t, filepath.Join(acct, "Inbox"), inbox, time.Time{})
	writeFile(t, filepath.Join(acct, "Inbox.msf"), []byte("// mork"), time.Time{})
	before := snapshot(t, prof)
	beforePatches := snapshot(t, patchPath)

	e := &e2e{t: t, dc: dc, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := plainTarget(dir, dc) + fmt.Sprintf("sources:\n  - url: thunderbird:%s\n  - url: mbox:%s\n    folder: patches\n", prof, patchPath)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(run string) {
		t.Helper()
		for folder, want := range map[string][][]byte{"INBOX": inboxWant, "patches": patchWant} {
			var w []corpusMsg
			for i, m := range want {
				w = append(w, corpusMsg{name: fmt.Sprintf("%s %d", folder, i), want: crlf(m)})
			}
			exactlyOnce(t, run+": "+folder, binaryFetch(t, dc, folder), w)
		}
	}
	code, out := e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          8 (") {
		t.Fatalf("first run: exit %d, want %d and 8 copied:\n%s", code, exitOK, out)
	}
	check("first run")
	if code, out := e.runSub("verify"); code != exitOK {
		t.Errorf("verify: exit %d, want %d:\n%s", code, exitOK, out)
	}
	code, out = e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          0 (") || !strings.Contains(out, "done before:     8\n") {
		t.Errorf("re-run: exit %d, want %d, 0 copied, 8 done before:\n%s", code, exitOK, out)
	}
	check("re-run")

	// A folder wiped by a crash: no From line left in it.
	wiped := filepath.Join(acct, "Drafts")
	writeFile(t, wiped, []byte(strings.Repeat("\x00", 4096)), time.Time{})
	code, out = e.run(nil)
	lines := failureLines(out)
	if code != exitFailed || len(lines) != 1 || !strings.Contains(lines[0], "Drafts#0#unreadable") ||
		!strings.Contains(lines[0], wiped+": ") && !strings.Contains(lines[0], "file "+wiped) ||
		!strings.Contains(lines[0], "not an mbox file") || strings.Contains(out, "level=WARN msg=archive") {
		t.Errorf("with a wiped folder: exit %d, failures %q; want %d, one failure naming %s and why, no warning:\n%s",
			code, lines, exitFailed, wiped, out)
	}
	check("with a wiped folder")
	after := snapshot(t, prof)
	delete(after, wiped)
	if !maps(after, before) || !maps(snapshot(t, patchPath), beforePatches) {
		t.Errorf("the archive files changed")
	}
}
