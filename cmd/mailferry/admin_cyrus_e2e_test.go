package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/cyrustest"
)

// TestCyrusAdminLogins moves alice's POP3 mail into bob's IMAP mailbox on
// Cyrus 3.6 with only the password of its admin ("admins" in
// imapd.conf), by SASL PLAIN with the user as authorization identity on
// both; a wrong admin password exits 3 naming the admin and the user.
func TestCyrusAdminLogins(t *testing.T) {
	srv := cyrustest.Start(t, cyrustest.Options{Users: []cyrustest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	msgs := someMail("cyrus-admin", 3)
	srv.Seed(t, "alice", "", msgs)
	dir := t.TempDir()
	e := &e2e{t: t, dir: dir, config: filepath.Join(dir, "mailferry.yaml")}
	cfg := fmt.Sprintf(`state: %s
target:
  url: imap://bob@%s
  tls: none
  allow_plaintext: true
  admin_user: %s
  password_env: MAILFERRY_ADMIN_PW
sources:
  - url: pop3://alice@%s
    tls: none
    allow_plaintext: true
    admin_user: %[3]s
    password_env: MAILFERRY_ADMIN_PW
`, filepath.Join(dir, "state.db"), srv.IMAPAddr, srv.Admin.Name, srv.POP3Addr)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := e.run([]string{"MAILFERRY_ADMIN_PW=" + srv.Admin.Password})
	if code != exitOK || copied(t, out) != len(msgs) {
		t.Fatalf("exit %d, want 0 and %d copied:\n%s", code, len(msgs), out)
	}
	if got := len(srv.Fetch(t, "bob", "")); got != len(msgs) {
		t.Fatalf("bob's INBOX has %d messages, want %d", got, len(msgs))
	}
	if strings.Contains(out, srv.Admin.Password) {
		t.Fatalf("the output shows the admin's password:\n%s", out)
	}
	if err := os.Remove(filepath.Join(dir, "state.db")); err != nil {
		t.Fatal(err)
	}
	code, out = e.run([]string{"MAILFERRY_ADMIN_PW=" + refusedPassword})
	if code != exitConnect || !strings.Contains(out, `admin "cyrus" logging in as user "bob" refused`) {
		t.Fatalf("wrong admin password: exit %d, want %d and the admin and user named:\n%s", code, exitConnect, out)
	}
	noTrace(t, "wrong admin password", out, adminForms(refusedPassword, "cyrus", "bob"), dir)
}
