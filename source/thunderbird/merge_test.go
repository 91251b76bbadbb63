package thunderbird

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source/sourcetest"
)

const threePOP3 = onePOP3 + `user_pref("mail.accountmanager.accounts", "account1,account2,account3,account4");
user_pref("mail.account.account3.server", "server3");
user_pref("mail.account.account4.server", "server4");
user_pref("mail.server.server3.directory-rel", "[ProfD]Mail/pop.work.example");
user_pref("mail.server.server3.name", "Work");
user_pref("mail.server.server3.type", "pop3");
user_pref("mail.server.server4.directory-rel", "[ProfD]Mail/pop.club.example");
user_pref("mail.server.server4.name", "Club");
user_pref("mail.server.server4.type", "pop3");
`

// threeAccounts writes a profile with a default POP3 account, Local
// Folders with a nested folder, and two other POP3 accounts.
func threeAccounts(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write(t, root, "prefs.js", threePOP3)
	write(t, root, "Mail/pop.example.net/Inbox", mboxOf(inRead))
	write(t, root, "Mail/Local Folders/Inbox", mboxOf(inTrap))
	write(t, root, "Mail/Local Folders/Sent", mboxOf(strings.ReplaceAll(sent, "\r\n", "\n")))
	write(t, root, "Mail/Local Folders/Projets", "")
	write(t, root, "Mail/Local Folders/Projets.sbd/Été 2025", "")
	write(t, root, "Mail/Local Folders/Projets.sbd/Été 2025.sbd/Réunions", mboxOf(work))
	write(t, root, "Mail/pop.work.example/Archives", mboxOf(archived))
	write(t, root, "Mail/pop.club.example/Trash", mboxOf(trashRead))
	return root
}

// TestLocalFoldersAtTheTop checks that Local Folders' tree is merged into
// the top level with the default account's (its Inbox, Sent and own
// folders by name), while other accounts go under their name, unless
// MergeAccounts names them (by name or directory) or is "*"; and that the
// Inboxes of every account come last.
func TestLocalFoldersAtTheTop(t *testing.T) {
	root := threeAccounts(t)
	sentLF := crlf(strings.ReplaceAll(sent, "\r\n", "\n"))
	want := func(club, wk string) []sourcetest.Message {
		return []sourcetest.Message{
			{Folder: "Projets/Été 2025/Réunions", Body: crlf(work)},
			{Folder: "Sent", Body: sentLF, Flags: []string{`\Seen`}},
			{Folder: club + "Trash", Body: crlf(trashRead), Flags: []string{`\Seen`}},
			{Folder: wk + "Archives", Body: crlf(archived), Flags: []string{`\Seen`, `\Answered`}},
			{Folder: "Inbox", Body: crlf(inRead), Flags: []string{`\Seen`, "$label1", "project"}},
			{Folder: "Inbox", Body: crlf(inTrap), Flags: []string{`\Answered`, `\Flagged`}},
		}
	}
	for _, c := range []struct {
		merge    []string
		club, wk string
	}{
		{nil, "Club/", "Work/"},
		{[]string{"Work"}, "Club/", ""},
		{[]string{"pop.club.example"}, "", "Work/"},
		{[]string{"*"}, "", ""},
	} {
		t.Run(strings.Join(c.merge, ","), func(t *testing.T) {
			sourcetest.Check(t, newSource(t, Options{Path: root, MergeAccounts: c.merge}), want(c.club, c.wk))
		})
	}
	_, err := New(Options{Path: root, MergeAccounts: []string{"Wrok"}})
	if err == nil || !strings.Contains(err.Error(), `merge_accounts: no account "Wrok"`) ||
		!strings.Contains(err.Error(), `"Work" (directory pop.work.example)`) {
		t.Errorf("New(MergeAccounts: Wrok) = %v, want an error naming the accounts there are", err)
	}
}
