package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCommand runs the test binary as mailferry with args and env, and
// returns its exit code and everything it wrote.
func runCommand(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code > 0 {
		return code, string(out)
	}
	t.Fatalf("mailferry did not exit: %v\n%s", err, out)
	return 0, ""
}

// passwordPieces are the parts of a password that no output may show:
// the whole, and each run of letters and digits of 4 or more (a parser's
// message may quote the URL cut at a "#" or a "/").
func passwordPieces(password string) []string {
	return append([]string{password}, regexp.MustCompile(`[A-Za-z0-9]{4,}`).FindAllString(password, -1)...)
}

// argvPasswords are passwords with the characters that break URL parsing.
var argvPasswords = []string{"Xq7vKp9wZr4t", "Xq7v#Kp9w", "Xq7v/Kp9w", "Xq7v?Kp9w", "Xq7v@Kp9w", "Xq7v:Kp9w", "Xq7v%41Kp9w"}

// TestPasswordOnCommandLine passes a URL with a password to --target and
// --source, of migrate and verify: exit 2, a message that says the
// password is in the process list and the shell history and must be
// changed, and no part of the password in the output.
func TestPasswordOnCommandLine(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.db")
	for _, pw := range argvPasswords {
		for _, c := range []struct{ flag, url, other string }{
			{"--target", "imaps://bob:" + pw + "@127.0.0.1:1", "pop3s://alice@127.0.0.1:1"},
			{"--source", "pop3s://alice:" + pw + "@127.0.0.1:1", "imaps://bob@127.0.0.1:1"},
		} {
			other := map[string]string{"--target": "--source", "--source": "--target"}[c.flag]
			for _, sub := range []string{"migrate", "verify"} {
				code, out := runCommand(t, nil, sub, c.flag, c.url, other, c.other, "--state", state)
				what := sub + " " + c.flag + " with password " + pw
				if code != exitUsage {
					t.Fatalf("%s: exit %d, want %d:\n%s", what, code, exitUsage, out)
				}
				for _, w := range []string{c.flag, "process list", "shell history", "Change this password"} {
					if !strings.Contains(out, w) {
						t.Fatalf("%s: output does not say %q:\n%s", what, w, out)
					}
				}
				for _, p := range passwordPieces(pw) {
					if strings.Contains(out, p) {
						t.Fatalf("%s: output shows %q:\n%s", what, p, out)
					}
				}
			}
		}
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("a refused command line created the state file (stat: %v)", err)
	}
}

// TestPasswordInConfigURL puts the password in the URL of a config file
// and of MAILFERRY_TARGET_URL: refused too (exit 2), without a word about
// the command line, and without showing the password.
func TestPasswordInConfigURL(t *testing.T) {
	dir := t.TempDir()
	for _, pw := range argvPasswords {
		config := filepath.Join(dir, "mailferry.yaml")
		text := "state: " + filepath.Join(dir, "state.db") + "\ntarget:\n  url: imaps://bob@127.0.0.1:1\n" +
			"sources:\n  - url: pop3s://alice@127.0.0.1:1\n"
		for _, c := range []struct {
			name string
			text string
			env  []string
		}{
			{"target in the file", strings.Replace(text, "bob@", "bob:"+pw+"@", 1), nil},
			{"source in the file", strings.Replace(text, "alice@", "alice:"+pw+"@", 1), nil},
			{"MAILFERRY_TARGET_URL", text, []string{"MAILFERRY_TARGET_URL=imaps://bob:" + pw + "@127.0.0.1:1"}},
		} {
			if err := os.WriteFile(config, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out := runCommand(t, c.env, "migrate", "--config", config)
			for _, p := range passwordPieces(pw) {
				if strings.Contains(out, p) {
					t.Fatalf("%s, password %s: output shows %q:\n%s", c.name, pw, p, out)
				}
			}
			if code != exitUsage || !strings.Contains(out, "do not put a password in a URL") && !strings.Contains(out, "not a valid URL") {
				t.Fatalf("%s, password %s: exit %d, want %d and a refusal:\n%s", c.name, pw, code, exitUsage, out)
			}
			if strings.Contains(out, "process list") {
				t.Fatalf("%s: the message speaks of the command line:\n%s", c.name, out)
			}
		}
	}
}

func TestHasPassword(t *testing.T) {
	for raw, want := range map[string]bool{
		"imaps://bob@mail.example.org":         false,
		"pop3s://alice@pop.example.net:995":    false,
		"imap://bob@[::1]:143":                 false,
		"mbox:/home/a:b@c/Mail/inbox":          false,
		"thunderbird:C:/Users/a@b/Thunderbird": false,
		"imaps://bob:pw@mail.example.org":      true,
		"imaps://bob:@mail.example.org":        true,
		"imaps://bob:p#w@mail.example.org":     true,
		"pop3s://alice:p/w@host:995":           true,
	} {
		if got := hasPassword(raw); got != want {
			t.Errorf("hasPassword(%q) = %v, want %v", raw, got, want)
		}
	}
}
