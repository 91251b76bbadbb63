package job

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/migrate"
)

var discard = slog.New(slog.DiscardHandler)

func valid() Config {
	return Config{State: "/tmp/x.db", Dedup: migrate.DedupAccount,
		Target:  Server{URL: "imaps://alice@mail.example.org", Connections: 8},
		Sources: []Source{{Server: Server{URL: "pop3s://alice@pop.example.net"}}}}
}

func TestValidate(t *testing.T) {
	c := valid()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		change func(*Config)
		want   string
	}{
		"merge on pop3":        {func(c *Config) { c.Sources[0].MergeAccounts = []string{} }, "sources[0].merge_accounts: applies to thunderbird: sources only"},
		"merge on mbox":        {func(c *Config) { c.Sources[0].URL = "mbox:/x"; c.Sources[0].MergeAccounts = []string{"*"} }, "applies to thunderbird: sources only"},
		"delete an archive":    {func(c *Config) { c.Sources[0].URL = "maildir:/x"; c.Sources[0].Delete = "after-upload" }, "archives are never changed"},
		"bad delete":           {func(c *Config) { c.Sources[0].Delete = "always" }, "sources[0].delete"},
		"unknown kind is pop3": {func(c *Config) { c.Sources[0].URL = "pst:/x" }, "scheme must be pop3:// or pop3s://"},
		"connections":          {func(c *Config) { c.Target.Connections = 0 }, "target.connections"},
		"dedup":                {func(c *Config) { c.Dedup = "" }, "dedup"},
		"no sources":           {func(c *Config) { c.Sources = nil }, "at least one source"},
	} {
		c := valid().Clone()
		tc.change(&c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a ConfigError with %q", name, err, tc.want)
		}
	}
	c = valid()
	c.Sources[0] = Source{Server: Server{URL: "thunderbird:/x"}, MergeAccounts: []string{"Work"}}
	if err := c.Validate(); err != nil {
		t.Errorf("merge_accounts on thunderbird: %v", err)
	}
}

func TestCloneSharesNothing(t *testing.T) {
	base := valid()
	base.Sources[0].Include = []string{"INBOX"}
	c := base.Clone()
	c.Sources[0].URL = "pop3s://bob@pop.example.net"
	c.Sources[0].Include[0] = "Sent"
	if base.Sources[0].URL != "pop3s://alice@pop.example.net" || base.Sources[0].Include[0] != "INBOX" {
		t.Fatalf("changing a clone changed the base: %+v", base.Sources[0])
	}
}

func TestSourceSpecs(t *testing.T) {
	dir := t.TempDir()
	mbox := filepath.Join(dir, "Filed.mbox")
	os.WriteFile(mbox, []byte("From a@b Fri Jul  8 12:08:34 2011\nSubject: x\n\nbody\n"), 0o644)
	asked := ""
	sources := []Source{
		{Server: Server{URL: "pop3s://alice@pop.example.net", Password: func(_ context.Context, name string) (string, error) {
			asked = name
			return "secret", nil
		}}},
		{Server: Server{URL: "mbox:" + mbox}},
	}
	specs, err := sourceSpecs(t.Context(), sources, discard)
	if err != nil {
		t.Fatal(err)
	}
	if asked != "pop3s://alice@pop.example.net:995" {
		t.Errorf("password asked for %q", asked)
	}
	if len(specs) != 2 || specs[0].Archive || specs[0].Folder != "INBOX" || specs[0].Name != "pop3s://alice@pop.example.net:995" {
		t.Fatalf("POP3 spec %+v", specs[0])
	}
	if a := specs[1]; !a.Archive || a.Name != "mbox:"+mbox || a.Folder != "Filed" {
		t.Fatalf("mbox spec %+v, want an archive named mbox:%s landing in Filed", a, mbox)
	}
	// An archive that is not of its kind fails at once, as a config error.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not mail\n"), 0o644)
	_, err = sourceSpecs(t.Context(), []Source{{Server: Server{URL: "mbox:" + filepath.Join(dir, "notes.txt")}}}, discard)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "mbox:") {
		t.Fatalf("not an mbox: %v, want a ConfigError naming the source", err)
	}
	// A server without a way to get its password is a config error too.
	_, err = sourceSpecs(t.Context(), []Source{{Server: Server{URL: "pop3s://alice@pop.example.net"}}}, discard)
	if !errors.As(err, &ce) {
		t.Fatalf("no password: %v, want a ConfigError", err)
	}
}
