package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// TestExampleConfigs parses every example in configs/ so none can rot.
func TestExampleConfigs(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs found: %v", err)
	}
	for _, f := range files {
		c, err := loadConfig(viper.New(), f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if c.Target.URL == "" || len(c.Sources) == 0 {
			t.Errorf("%s: target %q, %d sources; want both", f, c.Target.URL, len(c.Sources))
		}
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const minimal = `
state: /tmp/x.db
target:
  url: imaps://alice@mail.example.org
sources:
  - url: pop3s://alice@pop.example.net:1995
`

func TestConfigDefaultsAndEnv(t *testing.T) {
	t.Setenv("MAILFERRY_TARGET_CONNECTIONS", "3")
	t.Setenv("MAILFERRY_DEDUP", "folder")
	c, err := loadConfig(viper.New(), writeConfig(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.Connections != 3 || c.Dedup != "folder" {
		t.Fatalf("connections %d dedup %q, want 3 and folder from the environment", c.Target.Connections, c.Dedup)
	}
	jc, err := c.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := jc.Sources[0].Parse("pop3")
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr != "pop.example.net:1995" || !srv.Implicit || srv.Name() != "pop3s://alice@pop.example.net:1995" {
		t.Fatalf("parsed %+v name %q", srv, srv.Name())
	}
	tsrv, _ := jc.Target.Parse("imap")
	if tsrv.Addr != "mail.example.org:993" {
		t.Fatalf("target addr %q, want the imaps default port 993", tsrv.Addr)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]string{
		"password in url":     strings.Replace(minimal, "imaps://alice@", "imaps://alice:hunter2@", 1),
		"wrong scheme":        strings.Replace(minimal, "pop3s://", "imaps://", 1),
		"plaintext unallowed": minimal + "    tls: none\n",
		"bad dedup":           minimal + "dedup: maybe\n",
		"unknown key":         minimal + "colour: blue\n",
		"no sources":          "state: x\ntarget:\n  url: imaps://a@b\n",
		"no user":             strings.Replace(minimal, "alice@mail", "mail", 1),
		"bad port":            strings.Replace(minimal, ":1995", ":99999", 1),
	}
	for name, text := range cases {
		_, err := loadConfig(viper.New(), writeConfig(t, text))
		var ce *configError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a config error", name, err)
			continue
		}
		if exitCode(err) != exitUsage {
			t.Errorf("%s: exit code %d, want %d", name, exitCode(err), exitUsage)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
}

func TestPlaintextAllowed(t *testing.T) {
	text := strings.Replace(minimal, "pop3s://", "pop3://", 1) + "    tls: none\n    allow_plaintext: true\n"
	c, err := loadConfig(viper.New(), writeConfig(t, text))
	if err != nil {
		t.Fatal(err)
	}
	jc, err := c.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := jc.Sources[0].Parse("pop3")
	if !srv.Plain {
		t.Fatalf("tls: none with allow_plaintext gave %+v, want plaintext", srv)
	}
}

func TestPasswordSources(t *testing.T) {
	srv := "imaps://a@h:993"
	dir := t.TempDir()
	file := filepath.Join(dir, "p")
	os.WriteFile(file, []byte("from-file\n"), 0o600)
	t.Setenv("MY_PASS", "from-env")
	cases := []struct {
		e    Endpoint
		want string
	}{
		{Endpoint{PasswordFile: file}, "from-file"},
		{Endpoint{PasswordCommand: "echo from-command"}, "from-command"},
		{Endpoint{PasswordEnv: "MY_PASS"}, "from-env"},
	}
	for _, c := range cases {
		got, err := c.e.password(t.Context(), "target", "UNUSED", srv)
		if err != nil || got != c.want {
			t.Errorf("password(%+v) = %q, %v; want %q", c.e, got, err, c.want)
		}
	}
	// Not on a terminal and nothing set: an error that names what to set.
	_, err := (&Endpoint{}).password(t.Context(), "target", "MAILFERRY_UNSET_FOR_TEST", srv)
	if err == nil || !strings.Contains(err.Error(), "MAILFERRY_UNSET_FOR_TEST") {
		t.Fatalf("err = %v, want one naming MAILFERRY_UNSET_FOR_TEST", err)
	}
}

func TestUnsetFlagsKeepDefaultsAndConfig(t *testing.T) {
	cmd := newMigrateCommand(&GlobalOptions{})
	v := viper.New()
	if err := bindFlags(v, cmd.Flags()); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(v, writeConfig(t, strings.Replace(minimal, "state: /tmp/x.db\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.Connections != 8 || c.Dedup != "account" || c.State != "./mailferry.db" {
		t.Fatalf("connections %d dedup %q state %q, want the defaults 8, account, ./mailferry.db", c.Target.Connections, c.Dedup, c.State)
	}
	if err := cmd.Flags().Set("connections", "5"); err != nil {
		t.Fatal(err)
	}
	if c, _ = loadConfig(v, writeConfig(t, minimal)); c.Target.Connections != 5 {
		t.Fatalf("--connections 5 gave %d", c.Target.Connections)
	}
}
