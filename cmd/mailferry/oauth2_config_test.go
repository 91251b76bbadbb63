package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// TestOAuth2ConfigKeys: oauth2_token_command as a list or a string (split
// without a shell), oauth2_token_file and auth reach the job, per side;
// bad combinations are refused.
func TestOAuth2ConfigKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte(`state: `+filepath.Join(dir, "s.db")+`
target:
  url: imaps://u@imap.example.com
  oauth2_token_command: [/usr/bin/tok, "--user", "a b"]
  auth: oauthbearer
sources:
  - url: pop3s://u@pop.example.com
    oauth2_token_command: "tok --scope 'x y'"
  - url: pop3s://v@pop.example.com
    oauth2_token_file: /run/tok
`), 0o600)
	if err := unknownKeys(file); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(viper.New(), file)
	if err != nil {
		t.Fatal(err)
	}
	jc, err := c.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q %s | %q | %s", jc.Target.OAuth2TokenCommand, jc.Target.Auth, jc.Sources[0].OAuth2TokenCommand, jc.Sources[1].OAuth2TokenFile); got != `["/usr/bin/tok" "--user" "a b"] oauthbearer | ["tok" "--scope" "x y"] | /run/tok` {
		t.Fatalf("got %s", got)
	}
	for _, bad := range []struct{ extra, want string }{
		{"  oauth2_token_file: /x\n", "not both"},
		{"  auth: cram\n", "auth"},
		{"  admin_user: root\n", "admin"},
	} {
		os.WriteFile(file, []byte("state: "+filepath.Join(dir, "s.db")+"\ntarget:\n  url: imaps://u@h\n  oauth2_token_command: [tok]\n"+bad.extra+"sources:\n  - url: pop3s://u@p\n    password_env: X\n"), 0o600)
		if _, err := loadConfig(viper.New(), file); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: err %v, want %q", bad.extra, err, bad.want)
		}
	}
}
