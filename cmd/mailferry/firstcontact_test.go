package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
)

// allJSON fails t unless every line of out is a JSON object.
func allJSON(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("not a JSON line: %q (%v)\nall output:\n%s", line, err, out)
		}
	}
}

// TestUnknownKeyLine misspells keys at the top, in target and in a
// source: each is named with its line and the key meant, exit 2.
func TestUnknownKeyLine(t *testing.T) {
	cfg := writeConfig(t, `state: /tmp/x.db
target:
  url: imaps://alice@mail.example.org
  pasword_env: PW
souces:
  - url: pop3s://alice@pop.example.net
`)
	code, out := runCommand(t, nil, "migrate", "--config", cfg)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, out)
	}
	for _, want := range []string{
		"unknown key `target.pasword_env` at line 4 (did you mean `target.password_env`?)",
		"unknown key `souces` at line 5 (did you mean `sources`?)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "invalid keys") {
		t.Errorf("output still has the decoder's words:\n%s", out)
	}

	cfg = writeConfig(t, minimal+"    fodler: Archive\n    folder_map:\n      - from: a\n        too: b\n")
	_, err := loadConfig(viper.New(), cfg)
	for _, want := range []string{
		"unknown key `sources[0].fodler` at line 7 (did you mean `sources[0].folder`?)",
		"unknown key `sources[0].folder_map[0].too` at line 10 (did you mean `sources[0].folder_map[0].to`?)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if exitCode(err) != exitUsage {
		t.Errorf("exit %d, want %d", exitCode(err), exitUsage)
	}
}

// TestBarePathSource gives a path as a source: the error offers every
// archive kind with that path, and the POP3 schemes.
func TestBarePathSource(t *testing.T) {
	cfg := writeConfig(t, strings.Replace(minimal, "pop3s://alice@pop.example.net:1995", "/home/alice/mail/inbox", 1))
	code, out := runCommand(t, nil, "migrate", "--config", cfg)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, out)
	}
	kinds := source.ArchiveKinds()
	if len(kinds) < 4 {
		t.Fatalf("archive kinds %v: source/all not linked?", kinds)
	}
	for _, k := range kinds {
		if want := k + ":/home/alice/mail/inbox"; !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "pop3s://") || !strings.Contains(out, "sources[0].url") {
		t.Errorf("output lacks pop3s:// or the key:\n%s", out)
	}
}

// TestUnknownCommand: a misspelt command is a usage error (exit 2) that
// names the command meant; in JSON mode the line is JSON.
func TestUnknownCommand(t *testing.T) {
	code, out := runCommand(t, nil, "migrte", "--config", "x.yaml")
	if code != exitUsage || !strings.Contains(out, `unknown command "migrte" (did you mean "migrate"?)`) {
		t.Fatalf("exit %d, want %d and a suggestion:\n%s", code, exitUsage, out)
	}
	code, out = runCommand(t, nil, "--log-format", "json", "migrte")
	if code != exitUsage {
		t.Fatalf("exit %d, want %d:\n%s", code, exitUsage, out)
	}
	allJSON(t, out)
}

// TestVersionFlag: --version says what the version command says.
func TestVersionFlag(t *testing.T) {
	code, flag := runCommand(t, nil, "--version")
	_, cmd := runCommand(t, nil, "version")
	if code != exitOK || flag != cmd || !strings.HasPrefix(flag, "mailferry ") {
		t.Fatalf("--version: exit %d %q, version command %q", code, flag, cmd)
	}
}

// TestStateRelativeToConfig: a relative state path in a config file (or
// the default) is the config file's directory's, whatever the working
// directory; one from --state or MAILFERRY_STATE is the working
// directory's.
func TestStateRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailferry.yaml")
	text := strings.Replace(minimal, "state: /tmp/x.db", "state: ./data/mailferry.db", 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	load := func(args ...string) *Config {
		t.Helper()
		cmd := newMigrateCommand(&GlobalOptions{})
		if err := cmd.Flags().Parse(append([]string{"--config", cfg}, args...)); err != nil {
			t.Fatal(err)
		}
		var o MigrateOptions
		o.ConfigFile = cfg
		o.stateFlag = cmd.Flags().Changed("state")
		v := viper.New()
		if err := bindFlags(v, cmd.Flags()); err != nil {
			t.Fatal(err)
		}
		c, err := o.config(v)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := load()
	if want := filepath.Join(dir, "data", "mailferry.db"); c.State != want || !strings.Contains(c.StateNote, want) {
		t.Errorf("state %q note %q, want %s", c.State, c.StateNote, want)
	}
	if c := load("--state", "here.db"); c.State != "here.db" || c.StateNote != "" {
		t.Errorf("--state here.db: state %q note %q, want it as given", c.State, c.StateNote)
	}
	t.Setenv("MAILFERRY_STATE", "env.db")
	if c := load(); c.State != "env.db" || c.StateNote != "" {
		t.Errorf("MAILFERRY_STATE=env.db: state %q note %q, want it as given", c.State, c.StateNote)
	}
	os.Unsetenv("MAILFERRY_STATE")
	if err := os.WriteFile(cfg, []byte(strings.Replace(minimal, "state: /tmp/x.db\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if c := load(); c.State != filepath.Join(dir, "mailferry.db") {
		t.Errorf("default state %q, want it beside the config file", c.State)
	}
}

// TestBarText: the bar's words give the rate in MiB/s and label the
// times.
func TestBarText(t *testing.T) {
	c := counts{totalMessages: 10, doneMessages: 3, totalBytes: 10 << 20, doneBytes: 3 << 20}
	if got, want := barText(c, 2*time.Second), "3/10 messages, 3.0 of 10.0 MiB, 1.5 MiB/s, elapsed 2s, left 5s"; got != want {
		t.Errorf("barText = %q, want %q", got, want)
	}
	if got, want := barText(c, 500*time.Millisecond), "3/10 messages, 3.0 of 10.0 MiB"; got != want {
		t.Errorf("barText in the first second = %q, want %q", got, want)
	}
}

// TestBarSettleStatus: on a terminal the settle wait is a status line
// that counts the time and is cleared when the wait is over.
func TestBarSettleStatus(t *testing.T) {
	var out syncBuffer
	p := newBarProgress(&out, slog.New(slog.DiscardHandler))
	p.Event(migrate.Event{Kind: migrate.EventSettling, Count: 3, Wait: 5 * time.Second})
	time.Sleep(1200 * time.Millisecond)
	p.Event(migrate.Event{Kind: migrate.EventSettled, Count: 3, Wait: 1200 * time.Millisecond})
	text := out.String()
	for _, want := range []string{
		"\rwaiting for the target to store what the interrupted run sent (3 message(s) to look for): 0s of at least 5s\x1b[K",
		"\rwaiting for the target to store what the interrupted run sent (3 message(s) to look for): 1s of at least 5s\x1b[K",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%q", want, text)
		}
	}
	if !strings.HasSuffix(text, "\r\x1b[K") {
		t.Errorf("status not cleared at the end:\n%q", text)
	}
	p.Done()
	if out.String() != text {
		t.Errorf("written after the wait: %q", strings.TrimPrefix(out.String(), text))
	}
}
