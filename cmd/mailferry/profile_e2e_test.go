package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// tbMbox joins messages as Thunderbird writes an mbox file.
func tbMbox(msgs ...[]byte) []byte {
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

// TestDovecotProfileLocalFoldersAndPOP3 migrates a Thunderbird profile
// with a POP3 account (its Inbox and a filed subfolder) and Local Folders
// (Inbox, Sent, Archives/2024, Projets/Été 2025/Réunions), together with
// the POP3 maildrop that fed it, listed first in the config. Messages sit
// both in an Inbox (of either account, or on the server) and in a folder
// the person filed them into. Local Folders' tree lands at the top level
// (no "Local Folders" folder), each duplicate once and in its filed
// folder, every message once; a re-run copies nothing.
func TestDovecotProfileLocalFoldersAndPOP3(t *testing.T) {
	m := func(id, subject string) []byte {
		return mail(id+"@profile.example", subject, subject+"\r\n")
	}
	var sent, arch, proj [][]byte
	for i := range 3 {
		sent = append(sent, m(fmt.Sprintf("sent%d", i), fmt.Sprintf("I wrote %d", i)))
		arch = append(arch, m(fmt.Sprintf("arch%d", i), fmt.Sprintf("archived %d", i)))
	}
	for i := range 2 {
		proj = append(proj, m(fmt.Sprintf("proj%d", i), fmt.Sprintf("réunion %d", i)))
	}
	// Sent mail written in the United States: dates with obsolete zone
	// names (RFC 5322 4.3), whose offsets the internal dates must keep.
	zones := []string{"EST", "PDT", "GMT"}
	for i, z := range zones {
		sent[i] = bytes.Replace(sent[i], []byte("+0000\r\n"), []byte(z+"\r\n"), 1)
	}
	// Instants of 09:00 on Mon 2 Mar 2026 in each zone.
	zoneUTC := map[string]time.Time{"EST": time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC),
		"PDT": time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC), "GMT": time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		"+0000": time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	work := m("work", "filed under the POP3 Inbox")
	popIn, lfIn := m("pop-inbox", "only in the POP3 account's Inbox"), m("lf-inbox", "only in Local Folders' Inbox")
	sentOnly, serverOnly := m("sent-only", "only in Sent"), m("server-only", "arrived after the switch")
	gone := m("gone", "deleted in Thunderbird, not compacted")

	dc := dovecottest.Start(t, dovecottest.Options{SpecialUse: true, Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	// The server still holds some of what the profile filed.
	dc.Seed(t, "alice", "INBOX", [][]byte{popIn, arch[0], proj[1], work, serverOnly})
	// bob's account has its Archive folder (\Archive): Archives/2024 goes
	// under it.
	dc.Seed(t, "bob", "Archive", nil)

	dir := t.TempDir()
	prof := filepath.Join(dir, "profile")
	write := func(rel string, b []byte) { writeFile(t, filepath.Join(prof, filepath.FromSlash(rel)), b, time.Time{}) }
	write("prefs.js", []byte(`user_pref("mail.accountmanager.accounts", "account1,account2");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.accountmanager.localfoldersserver", "server2");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/pop.example.org");
user_pref("mail.server.server1.name", "alice@example.org");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server2.directory-rel", "[ProfD]Mail/Local Folders");
user_pref("mail.server.server2.name", "Local Folders");
user_pref("mail.server.server2.type", "none");
`))
	unread, read := func(b []byte) []byte { return tbMail(b, "0000") }, func(b []byte) []byte { return tbMail(b, "0001") }
	// The POP3 account's Inbox: what the server delivered, read or not.
	write("Mail/pop.example.org/Inbox", tbMbox(unread(popIn), unread(sent[0]), unread(sent[1]), unread(sent[2]),
		unread(arch[0]), unread(arch[1]), unread(proj[1]), unread(work), tbMail(gone, "0009")))
	write("Mail/pop.example.org/Inbox.msf", []byte("// mork"))
	write("Mail/pop.example.org/Inbox.sbd/Work", tbMbox(read(work)))
	// Local Folders: the person's own tree.
	lf := "Mail/Local Folders/"
	write(lf+"Inbox", tbMbox(unread(lfIn), unread(proj[0]), unread(arch[2])))
	write(lf+"Sent", tbMbox(read(sent[0]), read(sent[1]), read(sent[2]), read(sentOnly)))
	write(lf+"Archives", nil)
	write(lf+"Archives.sbd/2024", tbMbox(read(arch[0]), read(arch[1]), read(arch[2])))
	write(lf+"Projets", nil)
	write(lf+"Projets.sbd/Été 2025", nil)
	write(lf+"Projets.sbd/Été 2025.sbd/Réunions", tbMbox(read(proj[0]), read(proj[1])))
	before := snapshot(t, prof)

	e := &e2e{t: t, dc: dc, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := plainTarget(dir, dc) + "sources:\n" + plainPOP3(dc) + fmt.Sprintf("  - url: %q\n", "thunderbird:"+prof)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          13 ") {
		t.Fatalf("exit %d, want 0 and 13 copied:\n%s", code, out)
	}
	want := map[string][][]byte{
		"INBOX":                     {unread(popIn), unread(lfIn), serverOnly},
		"INBOX/Work":                {read(work)},
		"Sent":                      {read(sent[0]), read(sent[1]), read(sent[2]), read(sentOnly)},
		"Archive/2024":              {read(arch[0]), read(arch[1]), read(arch[2])},
		"Projets/Été 2025/Réunions": {read(proj[0]), read(proj[1])},
	}
	parents := []string{"Archive", "Projets", "Projets/Été 2025"}
	checkProfileTarget(t, dc, want, parents)
	for f := range want {
		for _, msg := range dc.Fetch(t, "bob", f) {
			zone := "+0000"
			for _, z := range zones {
				if bytes.Contains(msg.Body, []byte("09:00:00 "+z+"\r\n")) {
					zone = z
				}
			}
			if !msg.InternalDate.Equal(zoneUTC[zone]) {
				t.Errorf("%s: a message dated 09:00 %s has INTERNALDATE %v, want %v", f, zone, msg.InternalDate.UTC(), zoneUTC[zone])
			}
		}
	}

	code, out = e.run(nil)
	if code != exitOK || !strings.Contains(out, "copied:          0 ") {
		t.Fatalf("re-run: exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	checkProfileTarget(t, dc, want, parents)
	if after := snapshot(t, prof); !maps(after, before) {
		t.Fatal("profile files changed")
	}
}

// checkProfileTarget checks that bob's folders are those of want and
// parents, nothing else (no "Local Folders"), and that each folder of
// want holds exactly its messages. With the run's copied count equal to
// the messages of want, no message is anywhere else.
func checkProfileTarget(t *testing.T, dc *dovecottest.Server, want map[string][][]byte, parents []string) {
	t.Helper()
	folders := dc.Folders(t, "bob")
	names := slices.Clone(parents)
	for f := range want {
		names = append(names, f)
	}
	slices.Sort(names)
	if !slices.Equal(folders, names) {
		t.Errorf("folders %q, want %q", folders, names)
	}
	for f, msgs := range want {
		if !slices.Contains(folders, f) {
			t.Errorf("no folder %q in %q", f, folders)
			continue
		}
		var got [][]byte
		for _, msg := range dc.Fetch(t, "bob", f) {
			got = append(got, crlf(msg.Body))
		}
		t.Run(strings.ReplaceAll(f, "/", "_"), func(t *testing.T) { wantEachOnce(t, got, msgs) })
	}
}
