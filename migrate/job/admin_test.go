package job

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/migrate"
)

func TestValidateAdmin(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*Config)
		want   string
	}{
		"separator alone":      {func(c *Config) { c.Target.MasterSeparator = "*" }, "target.master_separator: set admin_user too"},
		"source separator":     {func(c *Config) { c.Sources[0].MasterSeparator = "*" }, "sources[0].master_separator"},
		"admin on an archive":  {func(c *Config) { c.Sources[0].URL = "mbox:/x"; c.Sources[0].AdminUser = "admin" }, "applies to POP3 sources only"},
		"oauth2 on an archive": {func(c *Config) { c.Sources[0].URL = "mbox:/x"; c.Sources[0].OAuth2TokenFile = "/t" }, "apply to POP3 sources only"},
		"auth on an archive":   {func(c *Config) { c.Sources[0].URL = "maildir:/x"; c.Sources[0].Auth = "xoauth2" }, "apply to POP3 sources only"},
		"line break":           {func(c *Config) { c.Target.AdminUser = "ad\nmin" }, "target.admin_user"},
	} {
		c := valid().Clone()
		tc.change(&c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a ConfigError with %q", name, err, tc.want)
		}
	}
	c := valid()
	c.Target.AdminUser, c.Target.MasterSeparator = "admin", "*"
	c.Sources[0].AdminUser = "admin"
	if err := c.Validate(); err != nil {
		t.Errorf("admin on both: %v", err)
	}
}

// TestDovecotAdminJob moves bob's POP3 mail into carol's IMAP mailbox
// with only the master user's password, once by SASL PLAIN with an
// authorization identity and once by "user*admin".
func TestDovecotAdminJob(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Users:       []dovecottest.User{{Name: "bob", Password: "b-pw"}, {Name: "carol", Password: "c-pw"}},
		MasterUsers: []dovecottest.User{{Name: "admin", Password: "admin-pw"}},
	})
	dc.Seed(t, "bob", "", [][]byte{[]byte("From: a@example.org\r\nSubject: one\r\nMessage-ID: <1@example.org>\r\n\r\nbody\r\n")})
	admin := func(context.Context, string) (string, error) { return "admin-pw", nil }
	for i, sep := range []string{"", "*"} {
		c := Config{State: filepath.Join(t.TempDir(), "state.db"), Dedup: migrate.DedupAccount,
			Target: Server{URL: "imap://carol@" + dc.IMAPAddr, TLS: "none", AllowPlaintext: true, Connections: 1,
				Password: admin, AdminUser: "admin", MasterSeparator: sep},
			Sources: []Source{{Server: Server{URL: "pop3://bob@" + dc.POP3Addr, TLS: "none", AllowPlaintext: true,
				Password: admin, AdminUser: "admin", MasterSeparator: sep}}}}
		j, err := Build(context.Background(), c, discard)
		if err != nil {
			t.Fatalf("separator %q: Build() = %v", sep, err)
		}
		rep, err := j.Migrator.Run(context.Background())
		j.Close()
		if err != nil || rep.Failed() != 0 || rep.Copied+rep.Present != 1 {
			t.Fatalf("separator %q: Run() = %+v, %v; want the message moved", sep, rep, err)
		}
		if got := dc.Fetch(t, "carol", "INBOX"); len(got) != 1 {
			t.Errorf("run %d: carol's INBOX has %d messages, want 1", i, len(got))
		}
	}
}
