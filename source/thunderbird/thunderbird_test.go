package thunderbird

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

var mtime = time.Date(2020, 3, 4, 5, 6, 7, 0, time.UTC)

// write writes content to root/rel, creating directories, with mtime.
func write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t testing.TB, root string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// msg is a message with LF line ends, as Thunderbird on Linux stores it.
func msg(subject, status, extra, body string) string {
	h := "From: alice@example.com\nTo: bob@example.net\nSubject: " + subject +
		"\nDate: Fri, 08 Jul 2011 12:08:34 +0000\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.com>\n"
	if status != "" {
		h += "X-Mozilla-Status: " + status + "\nX-Mozilla-Status2: 00000000\n"
	}
	return h + extra + "\n" + body
}

const sep = "From - Fri Jul  8 12:08:34 2011\n"

// mboxOf joins messages into an mbox file as Thunderbird writes it.
func mboxOf(msgs ...string) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(sep + m)
	}
	return b.String()
}

const prefsJS = `// Mozilla User Preferences
user_pref("mail.accountmanager.accounts", "account1,account2,account3,account4,account5");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.accountmanager.localfoldersserver", "server2");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.account.account3.server", "server3");
user_pref("mail.account.account4.server", "server4");
user_pref("mail.account.account5.server", "server5");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/pop.example.net");
user_pref("mail.server.server1.name", "user@example.net");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server2.directory-rel", "[ProfD]Mail/Local Folders");
user_pref("mail.server.server2.name", "Local Folders");
user_pref("mail.server.server2.type", "none");
user_pref("mail.server.server3.directory-rel", "[ProfD]ImapMail/imap.example.org");
user_pref("mail.server.server3.type", "imap");
user_pref("mail.server.server4.directory-rel", "[ProfD]Mail/pop.example-1.net");
user_pref("mail.server.server4.name", "Ren\u00e9 \"work\"");
user_pref("mail.server.server4.storeContractID", "@mozilla.org/msgstore/maildirstore;1");
user_pref("mail.server.server4.type", "pop3");
user_pref("mail.server.server5.directory-rel", "[ProfD]Mail/Feeds");
user_pref("mail.server.server5.type", "rss");
user_pref("mail.server.server9.directory-rel", "[ProfD]Mail/old.example.org");
user_pref("mail.server.server9.type", "pop3");
`

// Messages of the test profile, as stored.
var (
	inRead     = msg("in read", "0001", "X-Mozilla-Keys: $label1 project\n", "Hello.\n")
	inGone     = msg("in expunged", "0009", "", "Deleted, not compacted.\n")
	inTrap     = msg("in trap", "0006", "", "Quoted:\n\n>From bob@example.com Sat Jul  9 10:00:00 2011\nFrom the desk of Bob\n")
	work       = msg("work", "0000", "", "Work.\n")
	work2024   = msg("work 2024", "0004", "", "2024.\n")
	sent       = strings.ReplaceAll(msg("sent", "0001", "", "Sent.\n"), "\n", "\r\n")
	draft      = msg("draft", "0000", "X-Mozilla-Draft-Info: internal/draft; vcard=0\n", "Draft.\n")
	trashGone  = msg("trash expunged", "0009", "", "Gone.\n")
	trashRead  = msg("trash read", "0001", "", "Read trash.\n")
	envoye     = msg("envoye", "0001", "", "Envoy\xc3\xa9.\n")
	archived   = msg("archived", "0003", "", "Archived.\n")
	mdRead     = msg("md read", "0001", "X-Mozilla-Keys: $label2\n", "Maildir read.\n")
	mdGone     = msg("md expunged", "0008", "", "Maildir gone.\n")
	mdNoDate   = "From: carol@example.com\nSubject: no date\nX-Mozilla-Status: 0000\n\nNo date.\n"
	mdEnvelope = msg("md envelope", "0005", "", "Envelope line above.\n")
	mdProject  = msg("md project", "0002", "", "Project.\n")
)

// buildProfile writes a Thunderbird profile and returns its directory.
func buildProfile(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	write(t, root, "prefs.js", prefsJS)
	pop := "Mail/pop.example.net/"
	write(t, root, pop+"Inbox", mboxOf(inRead, inGone, inTrap))
	write(t, root, pop+"Inbox.sbd/Work", mboxOf(work))
	write(t, root, pop+"Inbox.sbd/Work.sbd/2024", mboxOf(work2024))
	write(t, root, pop+"Sent", strings.ReplaceAll(mboxOf(sent), sep, strings.TrimSuffix(sep, "\n")+"\r\n"))
	write(t, root, pop+"Drafts", mboxOf(draft))
	write(t, root, pop+"Trash", mboxOf(trashGone, trashRead))
	write(t, root, pop+"Envoyés", mboxOf(envoye))
	for _, f := range []string{"Inbox", "Inbox.sbd/Work", "Inbox.sbd/Work.sbd/2024", "Sent", "Drafts", "Trash", "Envoyés"} {
		write(t, root, pop+f+".msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n")
	}
	write(t, root, pop+"msgFilterRules.dat", "version=\"9\"\n")
	write(t, root, pop+"popstate.dat", "# POP3 State File\n")

	write(t, root, "Mail/Local Folders/Inbox", "")
	write(t, root, "Mail/Local Folders/Inbox.msf", "mork")
	write(t, root, "Mail/Local Folders/Archives", mboxOf(archived))
	write(t, root, "Mail/Local Folders/Archives.msf", "mork")

	md := "Mail/pop.example-1.net/"
	write(t, root, md+"Inbox/cur/1700000001.eml", mdRead)
	write(t, root, md+"Inbox/cur/1700000002.eml", mdGone)
	write(t, root, md+"Inbox/cur/1700000003.eml", mdNoDate)
	write(t, root, md+"Inbox/cur/1700000004.eml", "From - Wed Mar 24 23:25:55 2021\n"+mdEnvelope)
	mkdir(t, root, md+"Inbox/tmp", md+"Inbox/new")
	write(t, root, md+"Inbox.msf", "mork")
	write(t, root, md+"Inbox.sbd/Projects/cur/1700000010.eml", mdProject)
	mkdir(t, root, md+"Inbox.sbd/Projects/tmp")
	write(t, root, md+"Inbox.sbd/Projects.msf", "mork")

	write(t, root, "Mail/Feeds/Blog", mboxOf(msg("feed item", "0000", "", "RSS.\n")))
	// Directories no account uses, without mail: left out with a warning
	// (those with mail are failures: TestStaleDirectories).
	write(t, root, "Mail/old.example.org/Inbox.msf", "mork")
	mkdir(t, root, "Mail/leftover/Trash.sbd")
	// ImapMail must never be read: a valid mbox whose message must not be
	// listed, and files that would fail or warn if they were read.
	write(t, root, "ImapMail/imap.example.org/INBOX", mboxOf(msg("imap", "0000", "", "IMAP.\n")))
	write(t, root, "ImapMail/imap.example.org/Sent", "this is not an mbox\n")
	write(t, root, "ImapMail/imap.example.org/Trash/cur/x", "not a folder either")
	write(t, root, "News/news.example.org/comp.lang.go", mboxOf(msg("news", "0000", "", "News.\n")))
	return root
}

// crlf is what a source yields for a stored message: CRLF line ends and
// the mbox From quoting undone.
func crlf(s string) []byte {
	return sourcetest.CRLF([]byte(strings.ReplaceAll(s, "\n>From ", "\nFrom ")))
}

// profileWant is what the test profile must yield, in order: every
// account's filed folders (the primary, then by directory name: Local
// Folders, then pop.example-1.net), then every account's Inbox in the
// same order. Local Folders is merged into the top level with the
// primary account; the other account sits under its name.
func profileWant() []sourcetest.Message {
	other := `René "work"/`
	return []sourcetest.Message{
		{Folder: "Drafts", Body: crlf(draft)},
		{Folder: "Envoyés", Body: crlf(envoye), Flags: []string{`\Seen`}},
		{Folder: "Inbox/Work", Body: crlf(work)},
		{Folder: "Inbox/Work/2024", Body: crlf(work2024), Flags: []string{`\Flagged`}},
		{Folder: "Sent", Body: []byte(sent), Flags: []string{`\Seen`}},
		{Folder: "Trash", Body: crlf(trashRead), Flags: []string{`\Seen`}},
		{Folder: "Archives", Body: crlf(archived), Flags: []string{`\Seen`, `\Answered`}},
		{Folder: other + "Inbox/Projects", Body: crlf(mdProject), Flags: []string{`\Answered`}},
		{Folder: "Inbox", Body: crlf(inRead), Flags: []string{`\Seen`, "$label1", "project"}},
		{Folder: "Inbox", Body: crlf(inTrap), Flags: []string{`\Answered`, `\Flagged`}},
		{Folder: other + "Inbox", Body: crlf(mdRead), Flags: []string{`\Seen`, "$label2"}},
		{Folder: other + "Inbox", Body: crlf(mdNoDate), Date: mtime},
		{Folder: other + "Inbox", Body: crlf(mdEnvelope), Flags: []string{`\Seen`, `\Flagged`}},
	}
}

// warnings collects what a Source reports.
type warnings struct {
	mu    sync.Mutex
	paths []string
}

func (w *warnings) warn(path string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paths = append(w.paths, path+": "+err.Error())
}

func (w *warnings) has(sub string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.paths, func(p string) bool { return strings.Contains(p, sub) })
}

func newSource(t testing.TB, opts Options) *Source {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v) = %v, want nil", opts, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
	return s
}

func listAll(t testing.TB, s *Source) []source.Ref {
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

func TestProfile(t *testing.T) {
	root := buildProfile(t)
	before := sourcetest.Snapshot(t, root)
	var w warnings
	s := newSource(t, Options{Path: root, Warn: w.warn})
	sourcetest.Check(t, s, profileWant())
	sourcetest.StopEarly(t, s)
	sourcetest.Unchanged(t, root, before)
	for _, want := range []string{
		filepath.Join(root, "ImapMail") + ": " + errIMAP.Error(),
		filepath.Join(root, "News") + ": " + errNews.Error(),
		filepath.Join(root, "Mail", "Feeds") + ": " + errFeeds.Error(),
		filepath.Join(root, "Mail", "old.example.org") + ": " + errStale.Error(),
		filepath.Join(root, "Mail", "leftover") + ": " + errStale.Error(),
	} {
		if !w.has(want) {
			t.Errorf("no warning %q in %q", want, w.paths)
		}
	}
	if w.has(filepath.Join(root, "ImapMail") + string(filepath.Separator)) {
		t.Errorf("warnings %q name files under ImapMail/: it was read", w.paths)
	}
}

// TestMaildirDates checks that a maildir message with a Date header gets
// no Ref.Date (the engine takes the header's) and one without keeps the
// file's time.
func TestMaildirDates(t *testing.T) {
	s := newSource(t, Options{Path: buildProfile(t)})
	for _, r := range listAll(t, s) {
		if !strings.HasPrefix(r.ID, "pop.example-1.net/") {
			continue
		}
		noDate := strings.HasSuffix(r.ID, "/1700000003.eml")
		if got := !r.Date.IsZero(); got != noDate {
			t.Errorf("%s: Date = %v, want zero: %v", r.ID, r.Date, !noDate)
		}
	}
}

// TestIDs checks that IDs name the account, the store and the message,
// and are the same whatever directory Path names.
func TestIDs(t *testing.T) {
	root := buildProfile(t)
	all := listAll(t, newSource(t, Options{Path: root}))
	want := []string{
		"pop.example.net/Drafts#",
		"pop.example.net/Inbox.sbd/Work#",
		"Local Folders/Archives#",
		"pop.example-1.net/Inbox/1700000001.eml",
		"pop.example-1.net/Inbox.sbd/Projects/1700000010.eml",
	}
	for _, w := range want {
		if !slices.ContainsFunc(all, func(r source.Ref) bool { return strings.HasPrefix(r.ID, w) }) {
			t.Errorf("no ID starting %q in %v", w, all)
		}
	}
	fromMail := listAll(t, newSource(t, Options{Path: filepath.Join(root, "Mail")}))
	if !slices.EqualFunc(all, fromMail, func(a, b source.Ref) bool { return a.ID == b.ID && a.Folder == b.Folder }) {
		t.Errorf("Path Mail/ listed %v, want %v as from the profile", fromMail, all)
	}
	acct := listAll(t, newSource(t, Options{Path: filepath.Join(root, "Mail", "pop.example.net")}))
	if len(acct) != 8 || acct[0].ID != all[0].ID {
		t.Errorf("Path Mail/pop.example.net listed %v, want the first 8 of %v", acct, all)
	}
}

// TestAccountPath checks an account directory alone: its folders are the
// top level, a maildir store too.
func TestAccountPath(t *testing.T) {
	root := buildProfile(t)
	want := profileWant()
	s := newSource(t, Options{Path: filepath.Join(root, "Mail", "pop.example-1.net")})
	var md []sourcetest.Message
	for _, m := range want {
		if inner, ok := strings.CutPrefix(m.Folder, `René "work"/`); ok {
			m.Folder = inner
			md = append(md, m)
		}
	}
	sourcetest.Check(t, s, md)

	s = newSource(t, Options{Path: filepath.Join(root, "Mail", "Local Folders")})
	sourcetest.Check(t, s, []sourcetest.Message{{Folder: "Archives", Body: crlf(archived), Flags: []string{`\Seen`, `\Answered`}}})
}

// TestNoPrefs checks the fallback: without prefs.js every directory of
// Mail/ but Feeds* is an account, the only one that is not Local
// Folders is primary, and the others are named by their directory.
func TestNoPrefs(t *testing.T) {
	root := t.TempDir()
	write(t, root, "Mail/pop.example.net/Inbox", mboxOf(inRead))
	write(t, root, "Mail/Local Folders/Trash", mboxOf(trashRead))
	write(t, root, "Mail/Feeds-1/Blog", mboxOf(work))
	var w warnings
	s := newSource(t, Options{Path: root, Warn: w.warn})
	sourcetest.Check(t, s, []sourcetest.Message{
		{Folder: "Trash", Body: crlf(trashRead), Flags: []string{`\Seen`}},
		{Folder: "Inbox", Body: crlf(inRead), Flags: []string{`\Seen`, "$label1", "project"}},
	})
	if !w.has("Feeds-1: " + errFeeds.Error()) {
		t.Errorf("no Feeds warning in %q", w.paths)
	}
}

// TestIncludeDeleted checks that X-Status D is \Deleted, skipped by
// default, and that expunged messages stay out either way.
func TestIncludeDeleted(t *testing.T) {
	root := t.TempDir()
	del := msg("deleted", "0001", "X-Status: D\n", "Deleted.\n")
	write(t, root, "Mail/Local Folders/Inbox", mboxOf(del, inGone))
	write(t, root, "Mail/Local Folders/Inbox.msf", "mork")
	write(t, root, "Mail/maildir.example.net/Trash/cur/1", del)
	write(t, root, "Mail/maildir.example.net/Trash/cur/2", mdGone)
	sourcetest.Check(t, newSource(t, Options{Path: root}), nil)
	flags := []string{`\Seen`, `\Deleted`}
	sourcetest.Check(t, newSource(t, Options{Path: root, IncludeDeleted: true}), []sourcetest.Message{
		{Folder: "Trash", Body: crlf(del), Flags: flags},
		{Folder: "Inbox", Body: crlf(del), Flags: flags},
	})
}

func TestOpenUnknown(t *testing.T) {
	s := newSource(t, Options{Path: buildProfile(t)})
	for _, id := range []string{"nowhere/Inbox#0#0011223344556677", "ImapMail/imap.example.org/INBOX#0#0011223344556677", "x"} {
		if _, err := s.Open(context.Background(), source.Ref{ID: id}); !errors.Is(err, source.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want source.ErrNotFound", id, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	empty := t.TempDir()
	imapOnly := t.TempDir()
	write(t, imapOnly, "ImapMail/imap.example.org/INBOX", mboxOf(work))
	for _, p := range []string{"", filepath.Join(empty, "missing"), empty, imapOnly} {
		if s, err := New(Options{Path: p}); err == nil {
			s.Close()
			t.Errorf("New(%q) = nil error, want one", p)
		}
	}
}

// TestServersOnlyMailServerKeys: a key that ends in ".type" but is not
// mail.server.<id>.type names no server.
func TestServersOnlyMailServerKeys(t *testing.T) {
	p := prefs{
		"mail.server.server1.type":     "pop3",
		"ldap.type":                    "none",
		"mail.smtpserver.smtp1.type":   "smtp",
		"mail.server.server1.hostname": "pop.example.org",
	}
	got := p.servers("/profile")
	if len(got) != 1 || got[0].id != "server1" {
		t.Fatalf("servers = %+v, want server1 alone", got)
	}
}

func TestParsePref(t *testing.T) {
	for _, tc := range []struct{ line, key, value string }{
		{`user_pref("a.b", "x");`, "a.b", "x"},
		{`user_pref("a.b", 42);`, "a.b", "42"},
		{`  user_pref("a.b", true);`, "a.b", "true"},
		{`user_pref("n", "Ren\u00e9 \"w\" \\ \ud83d\ude00 \x41");`, "n", "René \"w\" \\ 😀 A"},
		{`user_pref("d", "C:\\Users\\me\\Mail");`, "d", `C:\Users\me\Mail`},
	} {
		k, v, ok := parsePref(tc.line)
		if !ok || k != tc.key || v != tc.value {
			t.Errorf("parsePref(%q) = %q, %q, %v, want %q, %q, true", tc.line, k, v, ok, tc.key, tc.value)
		}
	}
	for _, bad := range []string{`pref("a", 1);`, `user_pref("a" 1);`, `user_pref("a, 1);`, `// user_pref("a", 1);`} {
		if _, _, ok := parsePref(bad); ok {
			t.Errorf("parsePref(%q) ok, want not", bad)
		}
	}
}

func TestEnvelopeLen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"From - Wed Mar 24 23:25:55 2021\r\nX: y\r\n", 33},
		{"From alice@example.com Fri Jul  8 12:08:34 2011\nX: y\n", 48},
		{"From: alice@example.com\r\n", 0},
		{"From : alice@example.com\r\n", 0},
		{"From \t: alice@example.com\r\n", 0},
		{"From - no line end", 0},
		{"Subject: From - x\r\n", 0},
	} {
		if got := envelopeLen([]byte(tc.in)); got != tc.want {
			t.Errorf("envelopeLen(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestDeferredPrimary checks that a default POP3 account that defers its
// mail to Local Folders (the global inbox) makes Local Folders primary.
func TestDeferredPrimary(t *testing.T) {
	root := t.TempDir()
	write(t, root, "prefs.js", `user_pref("mail.accountmanager.accounts", "account1,account2");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.server.server1.deferred_to_account", "account2");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/pop.example.net");
user_pref("mail.server.server1.name", "me@example.net");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server2.directory-rel", "[ProfD]Mail/Local Folders");
user_pref("mail.server.server2.name", "Local Folders");
user_pref("mail.server.server2.type", "none");
`)
	write(t, root, "Mail/Local Folders/Inbox", mboxOf(inRead))
	write(t, root, "Mail/pop.example.net/Trash", mboxOf(trashRead))
	sourcetest.Check(t, newSource(t, Options{Path: root}), []sourcetest.Message{
		{Folder: "me@example.net/Trash", Body: crlf(trashRead), Flags: []string{`\Seen`}},
		{Folder: "Inbox", Body: crlf(inRead), Flags: []string{`\Seen`, "$label1", "project"}},
	})
}
