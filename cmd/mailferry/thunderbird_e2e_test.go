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

// tbMail is a message as Thunderbird keeps it: the server's bytes with
// X-Mozilla-Status fields added, LF line endings.
func tbMail(server []byte, status string) []byte {
	return lf(append([]byte("X-Mozilla-Status: "+status+"\r\nX-Mozilla-Status2: 00000000\r\n"), server...))
}

// TestDovecotThunderbirdAndPOP3 migrates a Thunderbird profile and the
// POP3 maildrop that fed it: each message lands once, in the folder the
// user filed it in, with Thunderbird's read/replied/flagged state; an
// expunged message that compaction had not removed is not migrated.
func TestDovecotThunderbirdAndPOP3(t *testing.T) {
	a := mail("tb-a@example.org", "a", "read in the Inbox\r\n")
	p := mail("tb-p@example.org", "p", "filed into Projects, replied and flagged\r\n")
	c := mail("tb-c@example.org", "c", "arrived after the switch: POP3 only\r\n")
	x := mail("tb-x@example.org", "x", "deleted and expunged in Thunderbird\r\n")
	s := mail("tb-s@example.org", "s", "sent from Thunderbird\r\n")

	dc := dovecottest.Start(t, dovecottest.Options{SpecialUse: true, Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	dc.Seed(t, "alice", "INBOX", [][]byte{a, p, c})
	dir := t.TempDir()
	prof := filepath.Join(dir, "profile")
	acct := filepath.Join(prof, "Mail", "pop.example.org")
	mbox := func(msgs ...[]byte) []byte {
		var out []byte
		for i, m := range msgs {
			if i > 0 {
				out = append(out, '\n')
			}
			out = append(out, "From - Sat May  4 03:02:01 2019\n"...)
			out = append(out, m...)
		}
		return out
	}
	prefs := `user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/pop.example.org");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server1.name", "alice@example.org");
`
	writeFile(t, filepath.Join(prof, "prefs.js"), []byte(prefs), time.Time{})
	writeFile(t, filepath.Join(acct, "Inbox"), mbox(tbMail(a, "0001"), tbMail(x, "0009")), time.Time{})
	writeFile(t, filepath.Join(acct, "Inbox.msf"), []byte("// mork"), time.Time{})
	writeFile(t, filepath.Join(acct, "Inbox.sbd", "Projects"), mbox(tbMail(p, "0007")), time.Time{})
	writeFile(t, filepath.Join(acct, "Sent"), mbox(tbMail(s, "0001")), time.Time{})
	before := snapshot(t, prof)

	e := &e2e{t: t, dc: dc, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := plainTarget(dir, dc) + "sources:\n" + plainPOP3(dc) + fmt.Sprintf("  - url: thunderbird:%s\n", prof)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	want := map[string][][]byte{
		"INBOX":          {tbMail(a, "0001"), c},
		"INBOX/Projects": {tbMail(p, "0007")},
		"Sent":           {tbMail(s, "0001")},
	}
	for folder, msgs := range want {
		var got [][]byte
		for _, m := range dc.Fetch(t, "bob", folder) {
			got = append(got, crlf(m.Body))
		}
		t.Run(strings.ReplaceAll(folder, "/", "_"), func(t *testing.T) { wantEachOnce(t, got, msgs) })
	}
	for _, m := range dc.Fetch(t, "bob", "INBOX/Projects") {
		fl := slices.DeleteFunc(slices.Clone(m.Flags), func(f string) bool { return f == `\Recent` })
		slices.Sort(fl)
		if want := []string{`\Answered`, `\Flagged`, `\Seen`}; !slices.Equal(fl, want) {
			t.Errorf("Projects/p flags = %v, want %v", fl, want)
		}
	}
	if after := snapshot(t, prof); !maps(after, before) {
		t.Fatal("profile files changed")
	}
}
