package job

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
)

// Config is one job.
type Config struct {
	// State is the path of the state file (required).
	State string
	// Dedup is the dedup scope: account, folder or off (required).
	Dedup migrate.Dedup
	// LockTimeout is how long to wait for another run to release the
	// state file; 0 fails at once.
	LockTimeout time.Duration
	// Settle is how long the folders a killed run was appending to must
	// stay unchanged before the next run looks for the messages it sent
	// (0: the engine's default), at most 10 minutes.
	Settle time.Duration
	// DryRun opens the state read-only (a missing one is empty) and
	// makes a Migrator that writes nothing.
	DryRun bool
	// Recheck makes the run look for every message done before in the
	// target and copy again those missing (migrate.Options.Recheck).
	Recheck bool
	// Target is the IMAP server (imaps://user@host or imap://user@host).
	// Its Connections must be between 1 and 64.
	Target Server
	// Sources are read in the engine's order (archives first), each in
	// the order given here; at least one is required.
	Sources []Source
}

// Server is a server and how to log in to it.
type Server struct {
	// URL is scheme://user@host[:port], without a password.
	URL string
	// TLS is "" (as the scheme says: implicit TLS for pop3s and imaps,
	// STARTTLS otherwise) or "none" (needs AllowPlaintext).
	TLS            string
	AllowPlaintext bool
	// TLSSkipVerify accepts any certificate; Build logs a warning each
	// time.
	TLSSkipVerify bool
	// CAFile is a PEM file of the certificates to trust instead of the
	// system's.
	CAFile string
	// TLSFingerprint pins the server's certificate: "sha256:" and the hex
	// SHA-256 of its DER bytes (pairs may be separated by ':'). Exactly
	// that certificate is accepted, trusted or not, and no other.
	TLSFingerprint string
	// AdminUser logs in as this admin on the mailbox of the URL's user
	// (Dovecot master users, Cyrus admins): Password then returns the
	// admin's password. With MasterSeparator empty, by SASL PLAIN with the
	// URL's user as authorization identity; else as the user
	// URLuser+MasterSeparator+AdminUser (Dovecot's "user*admin").
	AdminUser       string
	MasterSeparator string
	// OAuth2TokenCommand (argv, run without a shell, printing an access
	// token) or OAuth2TokenFile (read each time a token is needed) make
	// the login XOAUTH2 or OAUTHBEARER instead of a password; Auth picks
	// the mechanism ("xoauth2", "oauthbearer", "" or "auto": what the
	// server announces, OAUTHBEARER first). A token the server refuses is
	// obtained again, once for all connections, and the login retried.
	OAuth2TokenCommand []string
	OAuth2TokenFile    string
	Auth               string
	Timeout            time.Duration
	// Connections is how many connections to open (the target only).
	Connections int
	// MaxBytesPerSecond, above 0, bounds the message bytes sent, over
	// all connections (the target only; migrate.Options).
	MaxBytesPerSecond int64
	// Password returns the password of the server that name names (as
	// in logs: no secret in it). Build calls it once per server; nil is
	// an error when the server is connected to.
	Password func(ctx context.Context, name string) (string, error)
	// Preset names a provider in Presets (gmail, microsoft365, fastmail)
	// whose documented host, port and limits apply; what the URL says wins.
	Preset string
}

// Source is one source: a POP3 server, or a local archive whose URL is
// "kind:PATH" with a kind from source.ArchiveKinds (then only URL and the
// fields that say so are read, not Server's others).
type Source struct {
	Server
	// Folder is where the source lands: the target folder of a POP3
	// source (default INBOX) or of a one-file archive (default the file's
	// name), the parent folder of an archive tree (default the top).
	Folder string
	// AllowNoUIDL accepts a POP3 server without UIDL.
	AllowNoUIDL bool
	// FolderMap, Include and Exclude are migrate.SourceSpec's.
	FolderMap        []migrate.FolderMap
	Include, Exclude []string
	// IncludeDeleted migrates an archive's messages marked deleted too.
	IncludeDeleted bool
	// Delete says when copied messages are removed from a POP3 server:
	// "" or "leave" (never), "after-upload", or "keep-days:N".
	Delete string
	// Since and Before, when not zero, and MaxMessageSize, above 0,
	// leave out the messages dated before Since, at or after Before, or
	// larger than MaxMessageSize octets (migrate.Filter).
	Since, Before  time.Time
	MaxMessageSize int64
	// MergeAccounts, for an archive kind that merges accounts
	// (source.MergingKinds), names the accounts merged into the top
	// level; not nil means set (an empty list merges none) and is a
	// mistake for other sources.
	MergeAccounts []string
}

// Clone returns a copy of c that shares no slice with it: a batch runner
// clones a base Config per account and changes the copy.
func (c Config) Clone() Config {
	c.Sources = slices.Clone(c.Sources)
	for i := range c.Sources {
		s := &c.Sources[i]
		s.FolderMap = slices.Clone(s.FolderMap)
		s.Include = slices.Clone(s.Include)
		s.Exclude = slices.Clone(s.Exclude)
		s.MergeAccounts = slices.Clone(s.MergeAccounts)
	}
	return c
}

// ConfigError is a mistake in a Config: no run can succeed until the
// configuration changes.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(format string, args ...any) error {
	return &ConfigError{fmt.Errorf(format, args...)}
}

// Validate checks c without opening anything: what Build would refuse
// before it connects. Archives are checked when Build opens them.
func (c *Config) Validate() error {
	if err := c.ApplyPresets(); err != nil {
		return err
	}
	switch c.Dedup {
	case migrate.DedupAccount, migrate.DedupFolder, migrate.DedupOff:
	default:
		return configErrorf("dedup: %q is not one of account, folder, off", c.Dedup)
	}
	if c.State == "" {
		return configErrorf("state: a state file path is required")
	}
	if c.Target.URL == "" {
		return configErrorf("target.url is required (imaps://user@host or imap://user@host)")
	}
	if _, err := c.Target.Parse("imap"); err != nil {
		return err
	}
	if err := c.Target.validateAdmin("target"); err != nil {
		return err
	}
	if c.Target.Connections < 1 || c.Target.Connections > 64 {
		return configErrorf("target.connections: %d is not between 1 and 64", c.Target.Connections)
	}
	if c.Target.MaxBytesPerSecond < 0 {
		return configErrorf("target.max_bytes_per_second: %d is negative", c.Target.MaxBytesPerSecond)
	}
	if c.Settle < 0 || c.Settle > 10*time.Minute {
		return configErrorf("settle: %v is not between 0 and 10m", c.Settle)
	}
	if len(c.Sources) == 0 {
		return configErrorf("sources: at least one source is required")
	}
	for i := range c.Sources {
		if err := c.Sources[i].validate(i); err != nil {
			return err
		}
	}
	return nil
}

func (s *Source) validate(i int) error {
	if s.URL == "" {
		return configErrorf("sources[%d].url is required", i)
	}
	if s.MaxMessageSize < 0 {
		return configErrorf("sources[%d].max_message_size: %d is negative", i, s.MaxMessageSize)
	}
	if !s.Since.IsZero() && !s.Before.IsZero() && !s.Since.Before(s.Before) {
		return configErrorf("sources[%d]: since %s is not before before %s: no message would be copied", i,
			s.Since.Format(time.RFC3339), s.Before.Format(time.RFC3339))
	}
	kind, _, archive := source.ParseArchiveURL(s.URL)
	if k, _ := source.LookupArchive(kind); s.MergeAccounts != nil && !k.MergesAccounts {
		return configErrorf("sources[%d].merge_accounts: applies to %s sources only", i, schemes(source.MergingKinds()))
	}
	if archive {
		if s.AdminUser != "" || s.MasterSeparator != "" {
			return configErrorf("sources[%d].admin_user: applies to POP3 sources only", i)
		}
		if s.oauth2() || s.Auth != "" {
			return configErrorf("sources[%d]: oauth2_token_command, oauth2_token_file and auth apply to POP3 sources only", i)
		}
		if s.Delete != "" && s.Delete != "leave" {
			return configErrorf("sources[%d].delete: archives are never changed; delete applies to POP3 sources only", i)
		}
		return nil // checked when opened
	}
	if err := notPOP3(i, s.URL); err != nil {
		return err
	}
	if _, err := s.Parse("pop3"); err != nil {
		return err
	}
	if _, err := ParseDelete(s.Delete); err != nil {
		return configErrorf("sources[%d].delete: %v", i, err)
	}
	return s.validateAdmin(fmt.Sprintf("sources[%d]", i))
}

// validateAdmin checks AdminUser and MasterSeparator; key names the
// server in messages.
func (e *Server) validateAdmin(key string) error {
	if err := e.validateOAuth2(key); err != nil {
		return err
	}
	if e.MasterSeparator != "" && e.AdminUser == "" {
		return configErrorf("%s.master_separator: set admin_user too (the admin who logs in as the URL's user)", key)
	}
	if strings.ContainsAny(e.AdminUser+e.MasterSeparator, "\x00\r\n") {
		return configErrorf("%s.admin_user: a line break or NUL in admin_user or master_separator", key)
	}
	return nil
}

// notPOP3 explains a source URL that is neither an archive nor a POP3
// server (a bare path, a typing mistake in the kind, another protocol):
// the kinds of source there are, with the URL as each archive kind when
// it looks like a path.
func notPOP3(i int, raw string) error {
	scheme, _, isURL := strings.Cut(raw, "://")
	if isURL && (strings.EqualFold(scheme, "pop3") || strings.EqualFold(scheme, "pop3s")) {
		return nil
	}
	kinds := source.ArchiveKinds()
	example := "PATH"
	if !isURL && !strings.Contains(raw, ":") {
		example = raw // a bare path
	}
	var forms []string
	for _, k := range kinds {
		forms = append(forms, k+":"+example)
	}
	var what string
	switch {
	case isURL:
		what = fmt.Sprintf("has the scheme %s://, not a source's", scheme)
	case example == raw:
		what = "is a path without a kind"
	default:
		k, _, _ := strings.Cut(raw, ":")
		what = fmt.Sprintf("has the kind %s:, which is not one", k)
	}
	return configErrorf("sources[%d].url %q %s: for a POP3 server the scheme must be pop3:// or pop3s:// "+
		"(pop3s://user@host[:port]); for a local archive write one of %s", i, Redact(raw), what, strings.Join(forms, ", "))
}

// schemes writes kinds as URL schemes: "mbox:, maildir:".
func schemes(kinds []string) string {
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + ":")
	}
	return b.String()
}

// ParseDelete reads a POP3 source's Delete: "" or "leave" (nil: never
// delete), "after-upload", or "keep-days:N".
func ParseDelete(s string) (*migrate.DeletePolicy, error) {
	switch s {
	case "", "leave":
		return nil, nil
	case "after-upload":
		return &migrate.DeletePolicy{}, nil
	}
	days, ok := strings.CutPrefix(s, "keep-days:")
	n, err := strconv.Atoi(days)
	if !ok || err != nil || n < 0 || n > 36500 {
		return nil, fmt.Errorf("%q is not leave, after-upload or keep-days:N (N whole days, 0 to 36500)", s)
	}
	return &migrate.DeletePolicy{KeepFor: time.Duration(n) * 24 * time.Hour}, nil
}

// validateOAuth2 checks the OAuth2 keys; key names the endpoint.
func (e *Server) validateOAuth2(key string) error {
	switch strings.ToLower(e.Auth) {
	case "", "auto", "xoauth2", "oauthbearer":
	default:
		return configErrorf("%s.auth: %q is not xoauth2, oauthbearer or auto", key, e.Auth)
	}
	if len(e.OAuth2TokenCommand) > 0 && e.OAuth2TokenFile != "" {
		return configErrorf("%s: set oauth2_token_command or oauth2_token_file, not both", key)
	}
	if !e.oauth2() {
		if e.Auth != "" && !strings.EqualFold(e.Auth, "auto") {
			return configErrorf("%s.auth: %s needs oauth2_token_command or oauth2_token_file", key, e.Auth)
		}
		return nil
	}
	if e.AdminUser != "" {
		return configErrorf("%s.admin_user: admin logins do not combine with OAuth2", key)
	}
	return nil
}

// oauth2 reports whether the server logs in with an OAuth2 token.
func (e *Server) oauth2() bool { return len(e.OAuth2TokenCommand) > 0 || e.OAuth2TokenFile != "" }
