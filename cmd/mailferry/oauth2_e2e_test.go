package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/oauth2"
)

// yamlList writes argv as a YAML flow list.
func yamlList(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// TestDovecotOAuth2Migration moves alice's POP3 mail into bob's IMAP
// INBOX through the binary with OAuth2 on both sides (no password given),
// the tokens from oauth2_token_command and valid for 2 logins each, so
// that they expire during the run. Each message arrives once, the token
// commands run a bounded number of times, and no token shows in the
// output or the state directory. A second run, with OAUTHBEARER on the
// target, copies only the new mail.
func TestDovecotOAuth2Migration(t *testing.T) {
	idp := dovecottest.StartIdP(t, 2)
	dc := dovecottest.Start(t, dovecottest.Options{OAuth2IntrospectionURL: idp.URL, Users: []dovecottest.User{
		{Name: "alice", Password: popPass}, {Name: "bob", Password: imapPass}}})
	msgs := someMail("oauth", 100)
	dc.Seed(t, "alice", "INBOX", msgs)
	e := &e2e{t: t, dc: dc, dir: t.TempDir(), seeded: msgs}
	config := func(auth string) {
		text := plainTarget(e.dir, dc) + fmt.Sprintf("  connections: 4\n  auth: %s\n  oauth2_token_command: %s\nsources:\n",
			auth, yamlList(idp.TokenCommand("bob"))) +
			plainPOP3(dc) + "    folder: INBOX\n    oauth2_token_command: " + yamlList(idp.TokenCommand("alice")) + "\n"
		e.config = filepath.Join(e.dir, "mailferry.yaml")
		if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check := func(run string, want [][]byte, out string) {
		t.Helper()
		wantEachOnce(t, e.target(), want)
		issued, introspections, refused := idp.Counts()
		t.Logf("%s: %d tokens issued, %d logins tried, %d refused", run, issued, introspections, refused)
		if refused == 0 {
			t.Fatalf("%s: no token was refused: expiry was not exercised", run)
		}
		// One token per 2 logins, plus the first of each side: a refresh
		// per refused connection would issue one per refusal.
		if max := (introspections-refused)/2 + 2; issued > max {
			t.Fatalf("%s: %d tokens issued for %d successful logins, want at most %d (one refresh shared by the connections refused at once)",
				run, issued, introspections-refused, max)
		}
		var forms []string
		for _, tok := range idp.Tokens() {
			forms = append(forms, tok)
			for _, u := range []string{"alice", "bob"} {
				for _, m := range []string{"XOAUTH2", "OAUTHBEARER"} {
					forms = append(forms, base64.StdEncoding.EncodeToString(oauth2.Message(m, u, tok)))
				}
			}
		}
		noTrace(t, run, out, forms, e.dir)
	}
	config("xoauth2")
	code, out := e.run([]string{"MAILFERRY_SOURCE_PASSWORD=", "MAILFERRY_TARGET_PASSWORD="}, "-v")
	if code != 0 {
		t.Fatalf("first run: exit %d, want 0:\n%s", code, out)
	}
	check("first run", msgs, out)

	more := someMail("oauthnew", 20)
	dc.Seed(t, "alice", "INBOX", more)
	config("oauthbearer")
	code, out = e.run([]string{"MAILFERRY_SOURCE_PASSWORD=", "MAILFERRY_TARGET_PASSWORD="}, "-v")
	if code != 0 {
		t.Fatalf("second run: exit %d, want 0:\n%s", code, out)
	}
	check("second run", append(append([][]byte(nil), msgs...), more...), out)
}
