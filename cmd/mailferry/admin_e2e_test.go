package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// adminPass is the password of Dovecot's master user "admin"; with the
// characters that quoting must escape.
const adminPass = `AdmQzPw"Kx\Vq-RtLp`

// adminForms adds to secretForms the AUTH PLAIN responses an admin login
// sends for user: with user as authorization identity, and as user*admin.
func adminForms(password, admin, user string) []string {
	forms := secretForms(password, admin)
	for _, ir := range []string{user + "\x00" + admin + "\x00" + password, "\x00" + user + "*" + admin + "\x00" + password} {
		forms = append(forms, base64.StdEncoding.EncodeToString([]byte(ir)))
	}
	return forms
}

// TestDovecotAdminLogins moves alice's POP3 mail into IMAP mailboxes
// with only the password of Dovecot's master user: by SASL PLAIN with an
// authorization identity (into bob), then as "user*admin" (into carol).
// A wrong admin password on the target, then on the source, exits 3
// naming the admin and the user, and the password shows nowhere.
func TestDovecotAdminLogins(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Users: []dovecottest.User{{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass},
			{Name: "carol", Password: "carol-secret"}},
		MasterUsers: []dovecottest.User{{Name: "admin", Password: adminPass}},
	})
	msgs := someMail("admin", 3)
	dc.Seed(t, "alice", "INBOX", msgs)
	e := &e2e{t: t, dc: dc, dir: t.TempDir(), seeded: msgs}
	pwFile := filepath.Join(t.TempDir(), "admin-password") // outside the directories checked
	if err := os.WriteFile(pwFile, []byte(adminPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(targetUser, sep, sourcePWFile string) {
		extra := ""
		if sep != "" {
			extra = "  master_separator: \"" + sep + "\"\n"
		}
		text := fmt.Sprintf(`state: %s
target:
  url: imaps://%s@%s
  ca_file: %s
  admin_user: admin
%s  password_env: MAILFERRY_ADMIN_PW
sources:
  - url: pop3s://alice@%s
    ca_file: %s
    admin_user: admin
%s    password_file: %s
`, filepath.Join(e.dir, targetUser+sep+".db"), targetUser, dc.IMAPSAddr, dc.CAFile, extra, dc.POP3SAddr, dc.CAFile,
			strings.ReplaceAll(extra, "  master", "    master"), sourcePWFile)
		e.config = filepath.Join(e.dir, "mailferry.yaml")
		if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	for _, c := range []struct{ user, sep string }{{"bob", ""}, {"carol", "*"}} {
		config(c.user, c.sep, pwFile)
		tmp := t.TempDir()
		code, out := e.run([]string{"MAILFERRY_ADMIN_PW=" + adminPass, "TMPDIR=" + tmp}, "-v")
		if code != 0 {
			t.Fatalf("%s (separator %q): exit %d, want 0:\n%s", c.user, c.sep, code, out)
		}
		if got := len(dc.Fetch(t, c.user, "INBOX")); got != len(msgs) {
			t.Fatalf("%s: %d messages in INBOX, want %d:\n%s", c.user, got, len(msgs), out)
		}
		noTrace(t, c.user, out, adminForms(adminPass, "admin", c.user), e.dir, tmp)
		// What a server shows of a password, it shows of the refused one too.
		noTrace(t, c.user, out, adminForms(adminPass, "admin", "alice"), e.dir, tmp)
	}

	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte(refusedPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, sep, targetEnv, sourceFile, user string
	}{
		{"target", "", refusedPassword, pwFile, "bob"},
		{"target, user*admin", "*", refusedPassword, pwFile, "bob"},
		{"source", "", adminPass, wrongFile, "alice"},
	} {
		config("bob", c.sep, c.sourceFile)
		if err := os.Remove(filepath.Join(e.dir, "bob"+c.sep+".db")); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		code, out := e.run([]string{"MAILFERRY_ADMIN_PW=" + c.targetEnv, "TMPDIR=" + tmp}, "-v")
		if code != exitConnect || !strings.Contains(out, `admin "admin" logging in as user "`+c.user+`" refused`) {
			t.Fatalf("%s: exit %d, want %d and the refused admin and user named:\n%s", c.name, code, exitConnect, out)
		}
		noTrace(t, c.name, out, adminForms(refusedPassword, "admin", c.user), e.dir, tmp)
		noTrace(t, c.name, out, adminForms(adminPass, "admin", c.user), e.dir, tmp)
	}
}
