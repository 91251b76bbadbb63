package main

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// refusedPassword is a wrong password with the characters that quoting
// must escape (IMAP LOGIN quotes `"` and `\`).
const refusedPassword = `Wr0ngQzPw"Kx\Vq-ZjRwYk`

// secretForms are the ways a password could show: as it is, quoted for
// IMAP LOGIN, in base64 alone and inside an AUTHENTICATE PLAIN response
// for user, and each run of 6 or more letters and digits of it.
func secretForms(password, user string) []string {
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(password)
	forms := []string{password, quoted, base64.StdEncoding.EncodeToString([]byte(password))}
	for _, ir := range []string{"\x00" + user + "\x00" + password, user + "\x00" + user + "\x00" + password} {
		forms = append(forms, base64.StdEncoding.EncodeToString([]byte(ir)))
	}
	return append(forms, regexp.MustCompile(`[A-Za-z0-9]{6,}`).FindAllString(password, -1)...)
}

// noTrace fails t if any file under dir, or out, holds one of forms.
func noTrace(t *testing.T, what, out string, forms []string, dirs ...string) {
	t.Helper()
	for _, f := range forms {
		if strings.Contains(out, f) {
			t.Fatalf("%s: the output shows the password (as %q):\n%s", what, f, out)
		}
	}
	files := 0
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files++
			for _, f := range forms {
				if bytes.Contains(b, []byte(f)) {
					t.Fatalf("%s: %s holds the password (as %q)", what, p, f)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files == 0 {
		t.Fatalf("%s: the run wrote no file to check (no state file?)", what)
	}
}

// TestDovecotRefusedPasswordLeavesNoTrace has Dovecot refuse the target's
// and the source's password, given through the environment and a
// password file, with verbose text and JSON logs: exit 3, and the refused
// password is nowhere in what the run wrote, its output, the state file,
// or its temp directory.
func TestDovecotRefusedPasswordLeavesNoTrace(t *testing.T) {
	e := newE2E(t, someMail("secret", 3))
	secrets := t.TempDir() // outside the directories checked
	pwFile := filepath.Join(secrets, "pop-password")
	if err := os.WriteFile(pwFile, []byte(refusedPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, user, config string
		env                []string
	}{
		{"target, from the environment", "bob", "", []string{"MAILFERRY_TARGET_PASSWORD=" + refusedPassword}},
		{"source, from password_file", "alice", "    password_file: " + pwFile + "\n", nil},
	} {
		for _, logs := range [][]string{{"-v"}, {"-v", "--log-format", "json"}} {
			what := c.name + " " + strings.Join(logs, " ")
			if err := os.Remove(filepath.Join(e.dir, "state.db")); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			e.writeConfig("")
			if c.config != "" {
				text, _ := os.ReadFile(e.config)
				os.WriteFile(e.config, append(text, c.config...), 0o600)
			}
			tmp := t.TempDir()
			code, out := e.run(append(c.env, "TMPDIR="+tmp), logs...)
			if code != exitConnect || !strings.Contains(strings.ToLower(out), "auth") {
				t.Fatalf("%s: exit %d, want %d and an authentication error:\n%s", what, code, exitConnect, out)
			}
			noTrace(t, what, out, secretForms(refusedPassword, c.user), e.dir, tmp)
			if got := e.target(); len(got) != 0 {
				t.Fatalf("%s: %d messages written", what, len(got))
			}
		}
	}
}
