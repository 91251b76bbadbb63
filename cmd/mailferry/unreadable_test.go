package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/target/imap/imaptest"
)

// migrateInProcess runs "mailferry migrate" in this process against an
// in-memory IMAP server, with the archive sources given, and returns the
// exit code and what it printed.
func migrateInProcess(t *testing.T, srv *imaptest.Server, state string, sources ...string) (int, string) {
	t.Helper()
	t.Setenv("MAILFERRY_TARGET_PASSWORD", imapPass)
	cfg := fmt.Sprintf("state: %s\ntarget:\n  url: imap://bob@%s\n  tls: none\n  allow_plaintext: true\nsources:\n",
		state, srv.Addr)
	for _, s := range sources {
		cfg += fmt.Sprintf("  - url: %q\n", s)
	}
	path := filepath.Join(t.TempDir(), "mailferry.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := newRootCommand(&out, &out)
	cmd.SetArgs([]string{"migrate", "--config", path})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return exitCode(cmd.ExecuteContext(ctx)), out.String()
}

// A lostCase is something a source cannot read: the run must list it as
// failed, with its ID, folder and reason in the summary.
type lostCase struct {
	what, id, folder, reason string
}

// wantFailed checks that a run exited 1, copied copied messages, and
// listed each case as failed in its summary.
func wantFailed(t *testing.T, code int, out string, copied int, source string, cases []lostCase) {
	t.Helper()
	if code != exitFailed {
		t.Errorf("exit %d, want %d:\n%s", code, exitFailed, out)
	}
	if want := fmt.Sprintf("copied:          %d ", copied); !strings.Contains(out, want) {
		t.Errorf("summary does not say %q:\n%s", want, out)
	}
	if want := fmt.Sprintf("failed:          %d\n", len(cases)); !strings.Contains(out, want) {
		t.Errorf("summary does not say %q:\n%s", want, out)
	}
	for _, c := range cases {
		line := fmt.Sprintf("  %s message %s -> %s: ", source, c.id, c.folder)
		i := strings.Index(out, line)
		if i < 0 || !strings.Contains(strings.SplitN(out[i:], "\n", 2)[0], c.reason) {
			t.Errorf("%s: no summary line %q...%q in:\n%s", c.what, line, c.reason, out)
		}
	}
}

// checkUnreadable runs the sources twice: each time the good messages are
// copied (the first time), the cases fail with their reasons, exit 1.
func checkUnreadable(t *testing.T, src string, good int, cases []lostCase) {
	srv := imaptest.NewServer(t, "bob", imapPass)
	state := filepath.Join(t.TempDir(), "state.db")
	code, out := migrateInProcess(t, srv, state, src)
	wantFailed(t, code, out, good, src, cases)
	// Failures are tried again, and fail again: never exit 0.
	code, out = migrateInProcess(t, srv, state, src)
	wantFailed(t, code, out, 0, src, cases)
}

// TestUnreadableThunderbird: a Thunderbird folder whose mbox file the
// reader refuses, a folder that is a link loop, a directory of a removed
// account that still holds mail, and a message file of a maildir store
// that links to nothing are failures with their reasons, exit 1 (they
// were a WARN line and exit 0 with "copied 0").
func TestUnreadableThunderbird(t *testing.T) {
	prof := t.TempDir()
	prefs := `user_pref("mail.accountmanager.accounts", "account1,account2");
user_pref("mail.accountmanager.defaultaccount", "account1");
user_pref("mail.accountmanager.localfoldersserver", "server2");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/pop.example.org");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server2.directory-rel", "[ProfD]Mail/Local Folders");
user_pref("mail.server.server2.type", "none");
user_pref("mail.server.server2.storeContractID", "@mozilla.org/msgstore/maildirstore;1");
`
	good := lf(mail("tb-good@example.org", "good", "read\r\n"))
	md := filepath.Join(prof, "Mail")
	writeFile(t, filepath.Join(prof, "prefs.js"), []byte(prefs), time.Time{})
	writeFile(t, filepath.Join(md, "pop.example.org", "Inbox"), append([]byte("From - Sat May  4 03:02:01 2019\n"), good...), time.Time{})
	writeFile(t, filepath.Join(md, "pop.example.org", "Junk"), []byte("Subject: not an mbox\n\nno From line\n"), time.Time{})
	writeFile(t, filepath.Join(md, "old.example.org", "Inbox"), []byte("From - Sat May  4 03:02:01 2019\nSubject: x\n\nx\n"), time.Time{})
	writeFile(t, filepath.Join(md, "Local Folders", "Sent", "cur", "1.eml"), lf(mail("tb-sent@example.org", "sent", "sent\r\n")), time.Time{})
	if err := os.Symlink("Archives.sbd", filepath.Join(md, "pop.example.org", "Archives.sbd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(prof, "gone.eml"), filepath.Join(md, "Local Folders", "Sent", "cur", "2.eml")); err != nil {
		t.Fatal(err)
	}
	checkUnreadable(t, "thunderbird:"+prof, 2, []lostCase{
		// The mbox store's failures are source/mbox's failure Refs.
		{"file", "pop.example.org/Junk#0#unreadable", "Junk", filepath.Join(md, "pop.example.org", "Junk") + ": not an mbox file"},
		{"folder", "pop.example.org/Archives.sbd#0#unreadable", "Archives.sbd", filepath.Join(md, "pop.example.org", "Archives.sbd") + ": it is a symbolic link, which is not followed"},
		{"removed account", "old.example.org", "old.example.org", "cannot read folder " + filepath.Join(md, "old.example.org") + ": no account of prefs.js uses this directory"},
		{"message", "Local Folders/Sent/2.eml", "Sent", "cannot read " + filepath.Join(md, "Local Folders", "Sent", "cur", "2.eml") + ": no such file or directory"},
	})
}

// TestUnreadableMaildir: a folder whose cur/ cannot be read (a link
// loop), a message file that links to nothing, and a FIFO in cur/.
func TestUnreadableMaildir(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "cur", "1.M1.host:2,S"), mail("md-good@example.org", "good", "read\r\n"), time.Time{})
	writeFile(t, filepath.Join(root, "Loop", "new", "2.M1.host"), mail("md-loop@example.org", "loop", "x\r\n"), time.Time{})
	if err := os.Symlink("cur", filepath.Join(root, "Loop", "cur")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "gone"), filepath.Join(root, "cur", "3.M1.host:2,S")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "cur", "4.M1.host:2,S"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkUnreadable(t, "maildir:"+root, 1, []lostCase{
		{"folder", "Loop/", "Loop", "cannot read folder Loop (" + filepath.Join(root, "Loop") + "): too many levels of symbolic links"},
		{"file", "/3.M1.host", "INBOX", "cannot read " + filepath.Join(root, "cur", "3.M1.host:2,S") + ": no such file or directory"},
		{"not a file", "/4.M1.host", "INBOX", "cannot read " + filepath.Join(root, "cur", "4.M1.host:2,S") + ": not a regular file"},
	})
}

// TestUnreadableEML: a folder that is a link loop, a .partial.emlx (it
// was skipped with a WARN line), a link out of the tree, and an .emlx
// whose byte count is wrong.
func TestUnreadableEML(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a.eml"), mail("eml-good@example.org", "good", "read\r\n"), time.Time{})
	writeFile(t, filepath.Join(root, "Work.mbox", "Messages", "5.partial.emlx"), []byte("3\nabc<plist><dict/></plist>"), time.Time{})
	writeFile(t, filepath.Join(root, "bad.emlx"), []byte("999\nSubject: short\n\nx\n"), time.Time{})
	writeFile(t, filepath.Join(outside, "x.eml"), mail("eml-out@example.org", "out", "x\r\n"), time.Time{})
	if err := os.Symlink("Loop", filepath.Join(root, "Loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "x.eml"), filepath.Join(root, "out.eml")); err != nil {
		t.Fatal(err)
	}
	checkUnreadable(t, "eml:"+root, 1, []lostCase{
		{"folder", "Loop", "INBOX", "cannot read " + filepath.Join(root, "Loop") + ": a symbolic link that cannot be followed inside the tree"},
		{"partial", "Work.mbox/Messages/5.partial.emlx", "Work", "a partial .emlx, whose attachments Apple Mail keeps in other files"},
		{"file", "out.eml", "INBOX", "cannot read " + filepath.Join(root, "out.eml") + ": a symbolic link that cannot be followed inside the tree"},
		{"message", "bad.emlx", "INBOX", "byte count 999 exceeds"},
	})
}
