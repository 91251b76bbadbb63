package session

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestRedactLoginForms(t *testing.T) {
	user, pass := "alice", `pa"ss\word`
	forms := []string{pass, `pa\"ss\\word`, base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))}
	for _, f := range forms {
		got := RedactLogin("NO echo: "+f+" refused", user, pass)
		if strings.Contains(got, f) || !strings.Contains(got, "***") {
			t.Errorf("RedactLogin(%q) = %q, want the secret form replaced", f, got)
		}
	}
}

func TestRedactLoginAuthzid(t *testing.T) {
	ir := base64.StdEncoding.EncodeToString([]byte("bob\x00admin\x00pw-admin"))
	got := RedactLogin("NO echo: "+ir, "admin", "pw-admin", "bob")
	if strings.Contains(got, ir) {
		t.Errorf("RedactLogin = %q, want the authzid form replaced", got)
	}
}
