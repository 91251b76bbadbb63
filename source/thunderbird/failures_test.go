package thunderbird

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// opened is what Open gave for one listed Ref.
type opened struct {
	ref  source.Ref
	body []byte
	err  error
}

// listOpen lists src and opens every Ref, without failing a test (it may
// run in sourcetest.Unprivileged).
func listOpen(src source.Source) (map[string]opened, []string, error) {
	got := map[string]opened{}
	var order []string
	err := src.List(context.Background(), func(r source.Ref) error {
		got[r.ID] = opened{ref: r}
		order = append(order, r.ID)
		return nil
	})
	for id, o := range got {
		rc, oerr := src.Open(context.Background(), o.ref)
		if o.err = oerr; oerr == nil {
			o.body, o.err = io.ReadAll(rc)
			rc.Close()
		}
		got[id] = o
	}
	return got, order, err
}

type wantFail struct{ folder, reason string }

// checkFailures checks that each ID of want was listed in its folder and
// that Open says why it cannot be read, wrapping source.ErrUnreadable.
func checkFailures(t *testing.T, got map[string]opened, want map[string]wantFail) {
	t.Helper()
	for id, w := range want {
		o, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s: not listed, want a failure Ref", id)
		case o.ref.Folder != w.folder:
			t.Errorf("%s: Folder = %q, want %q", id, o.ref.Folder, w.folder)
		case !errors.Is(o.err, source.ErrUnreadable) || !strings.Contains(o.err.Error(), w.reason):
			t.Errorf("%s: Open() = %v, want source.ErrUnreadable saying %q", id, o.err, w.reason)
		}
	}
}

const onePOP3 = `user_pref("mail.accountmanager.accounts", "account1,account2");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.accountmanager.localfoldersserver", "server2");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/pop.example.net");
user_pref("mail.server.server1.name", "me@example.net");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server2.directory-rel", "[ProfD]Mail/Local Folders");
user_pref("mail.server.server2.name", "Local Folders");
user_pref("mail.server.server2.type", "none");
`

// TestStaleDirectories checks that a directory of Mail/ that no account
// of prefs.js uses is a failure Ref when it holds mail (left by a removed
// account), and left out with a warning when it does not.
func TestStaleDirectories(t *testing.T) {
	root := t.TempDir()
	write(t, root, "prefs.js", onePOP3)
	write(t, root, "Mail/pop.example.net/Inbox", mboxOf(inRead))
	write(t, root, "Mail/old.example.org/Inbox", mboxOf(msg("stale", "0000", "", "Stale.\n")))
	write(t, root, "Mail/old.example.org/Inbox.msf", "mork")
	write(t, root, "Mail/smart mailboxes/Inbox.msf", "mork")
	write(t, root, "Mail/smart mailboxes/Inbox", "")
	var w warnings
	got, order, err := listOpen(newSource(t, Options{Path: root, Warn: w.warn}))
	if err != nil {
		t.Fatal(err)
	}
	checkFailures(t, got, map[string]wantFail{"old.example.org": {"old.example.org",
		"cannot read folder " + filepath.Join(root, "Mail", "old.example.org") + ": no account of prefs.js uses this directory"}})
	if want := []string{"old.example.org", "pop.example.net/Inbox#32#3f963b65c6b26ba3"}; !slices.Equal(order, want) {
		t.Errorf("listed %q, want %q", order, want)
	}
	if want := filepath.Join(root, "Mail", "smart mailboxes") + ": " + errStale.Error(); !w.has(want) {
		t.Errorf("warnings %q, want %q", w.paths, want)
	}
}

// TestNeverSilentSkip checks that what holds mail and cannot be read is a
// failure Ref whose Open says why, never only a warning: in an mbox
// store, a file that is not an mbox and a NAME.sbd that is a link loop;
// in a maildir store, a file that is not a folder, a NAME.sbd without
// read permission, a folder inside a folder, a message file without read
// permission and a link to a message file that is gone. The good
// messages around them are read.
func TestNeverSilentSkip(t *testing.T) {
	root := t.TempDir()
	write(t, root, "prefs.js", onePOP3+`user_pref("mail.server.server2.storeContractID", "@mozilla.org/msgstore/maildirstore;1");
`)
	pop, lf := "Mail/pop.example.net/", "Mail/Local Folders/"
	write(t, root, pop+"Inbox", mboxOf(inRead))
	write(t, root, pop+"Junk", "this is not an mbox\n")
	write(t, root, pop+"Junk.msf", "mork")
	write(t, root, pop+"desktop.ini", "[.ShellClassInfo]\n")
	// An empty message (a From line followed by another) loses nothing:
	// a warning, and the file's other message is read.
	write(t, root, pop+"Drafts", sep+"\n"+mboxOf(draft))
	write(t, root, lf+"Sent/cur/1.eml", sent)
	write(t, root, lf+"Sent/cur/2.eml", work)
	write(t, root, lf+"Sent/Stray/cur/3.eml", work2024)
	write(t, root, lf+"notes.txt", "not a folder\n")
	write(t, root, lf+"Locked.sbd/Old/cur/4.eml", archived)
	mkdir(t, root, lf+"Sent/tmp", lf+"Sent/new", lf+"Empty/tmp")
	if err := os.Symlink("Archives.sbd", filepath.Join(root, pop+"Archives.sbd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "gone.eml"), filepath.Join(root, lf+"Sent/cur/5.eml")); err != nil {
		t.Fatal(err)
	}
	sourcetest.Deny(t, filepath.Join(root, lf+"Locked.sbd"), filepath.Join(root, lf+"Sent/cur/2.eml"))
	var w warnings
	var got map[string]opened
	var order []string
	var newErr, listErr error
	sourcetest.Unprivileged(t, root, func() {
		var s *Source
		if s, newErr = New(Options{Path: root, Warn: w.warn}); newErr == nil {
			got, order, listErr = listOpen(s)
			s.Close()
		}
	})
	if newErr != nil || listErr != nil {
		t.Fatalf("New() = %v, List() = %v, want nil", newErr, listErr)
	}
	p, l := filepath.Join(root, "Mail", "pop.example.net"), filepath.Join(root, "Mail", "Local Folders")
	checkFailures(t, got, map[string]wantFail{
		// The mbox store's own failure Refs (source/mbox).
		"pop.example.net/Junk#0#unreadable":         {"Junk", filepath.Join(p, "Junk")},
		"pop.example.net/Archives.sbd#0#unreadable": {"Archives.sbd", filepath.Join(p, "Archives.sbd")},
		"Local Folders/notes.txt":                   {"notes.txt", "cannot read " + filepath.Join(l, "notes.txt") + ": not a folder of Thunderbird's maildir store"},
		"Local Folders/Locked.sbd":                  {"Locked", "cannot read folder " + filepath.Join(l, "Locked.sbd") + ": permission denied"},
		"Local Folders/Sent/Stray/":                 {"Sent/Stray", "cannot read folder " + filepath.Join(l, "Sent", "Stray") + ": a maildir folder inside a folder"},
		"Local Folders/Sent/2.eml":                  {"Sent", "cannot read " + filepath.Join(l, "Sent", "cur", "2.eml") + ": permission denied"},
		"Local Folders/Sent/5.eml":                  {"Sent", "cannot read " + filepath.Join(l, "Sent", "cur", "5.eml") + ": no such file or directory"},
	})
	drafts := ""
	for _, id := range order {
		if strings.HasPrefix(id, "pop.example.net/Drafts#") {
			drafts = id
		}
	}
	for id, want := range map[string][]byte{"pop.example.net/Inbox#32#3f963b65c6b26ba3": crlf(inRead),
		"Local Folders/Sent/1.eml": crlf(sent), drafts: crlf(draft)} {
		if o := got[id]; o.err != nil || string(o.body) != string(want) {
			t.Errorf("%s: Open() = %.60q, %v, want the message", id, o.body, o.err)
		}
	}
	if len(order) != 10 {
		t.Errorf("listed %q, want 7 failures and 3 messages", order)
	}
	// desktop.ini is left out without a word (source/mbox knows it).
	for _, want := range []string{filepath.Join(p, "Drafts") + ": empty message at offset",
		filepath.Join(l, "Empty") + ": " + errNoMail.Error()} {
		if !w.has(want) {
			t.Errorf("warnings %q, want %q (not mail, not a failure)", w.paths, want)
		}
	}
}
