package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate/batch"
)

// TestOverrideColumn: config keys are settings columns, keys that cannot
// differ per account and passwords are refused saying what to use, other
// names are unknown; each error names the column.
func TestOverrideColumn(t *testing.T) {
	for _, ok := range []string{"dedup", "lock_timeout", "settle", "target.connections", "target.max_bytes_per_second",
		"target.tls_skip_verify", "target.ca_file", "target.admin_user", "target.master_separator",
		"source.max_message_size", "source.since", "source.before", "source.delete", "source.tls", "source.admin_user",
		"source.exclude"} {
		if err := overrideColumn(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for col, want := range map[string]string{
		"state":                      "state_dir column",
		"sources":                    "source.KEY",
		"target.url":                 "target_user",
		"source.url":                 "source_url",
		"target_password":            "target_password_env or target_password_file",
		"source.password":            "source_password_env or source_password_file",
		"target.password":            "target_password_env or target_password_file",
		"target.password_command":    "target_password_env or target_password_file",
		"max_connections_per_server": "base config",
		"target.bogus":               "unknown column",
		"colour":                     "unknown column",
		"source.connectionz":         "unknown column",
	} {
		err := overrideColumn(col)
		if err == nil || !strings.Contains(err.Error(), col) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming it and saying %q", col, err, want)
		}
	}
}

// TestAccountBase: settings columns go over the base config file as the
// file's own keys would, each kind (top level, target., source.),
// empty cells keep the base's, and a bad value is refused as the config
// file's would be, naming the column.
func TestAccountBase(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "base.yaml")
	base := "state_dir: st\ndedup: account\ntarget:\n  url: imaps://admin@mail.example\n  connections: 4\n" +
		"sources:\n  - tls: none\n    allow_plaintext: true\n    delete: leave\n"
	if err := os.WriteFile(file, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	a := batch.Account{Overrides: map[string]string{"dedup": "folder", "lock_timeout": "30s",
		"target.connections": "2", "target.max_bytes_per_second": "1m", "target.admin_user": "boss",
		"source.max_message_size": "10k", "source.since": "2024-01-31", "source.exclude": "[Spam, Trash]"}}
	c, err := accountBase(file, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if c.Dedup != "folder" || c.LockTimeout != 30*time.Second || c.Target.Connections != 2 ||
		c.Target.MaxBytesPerSecond != 1<<20 || c.Target.AdminUser != "boss" || c.Target.URL != "imaps://admin@mail.example" {
		t.Errorf("job %+v", c)
	}
	if s.MaxMessageSize != 10<<10 || s.Since.Format("2006-01-02") != "2024-01-31" || len(s.Exclude) != 2 ||
		s.TLS != "none" || !s.AllowPlaintext || s.Delete != "leave" {
		t.Errorf("source %+v: want the columns over the base's source", s)
	}
	// The admin flags go under an account's own columns.
	c, err = accountBase(file, a, &adminFlags{TargetUser: "flag", SourceUser: "srcadmin", SourceSeparator: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.AdminUser != "boss" || c.Sources[0].AdminUser != "srcadmin" || c.Sources[0].MasterSeparator != "*" {
		t.Errorf("admin flags: target %q, source %q %q: want the column's boss, the flags' srcadmin *",
			c.Target.AdminUser, c.Sources[0].AdminUser, c.Sources[0].MasterSeparator)
	}
	for col, val := range map[string]string{"target.connections": "many", "source.max_message_size": "big",
		"lock_timeout": "soon", "source.since": "yesterday", "source.max_bytes_per_second": "1m"} {
		_, err := accountBase(file, batch.Account{Overrides: map[string]string{col: val}}, nil)
		if err == nil || !strings.Contains(err.Error(), col) {
			t.Errorf("%s=%s: %v, want an error naming the column", col, val, err)
		}
	}
}
