package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/mailferry/mailferry/migrate"
)

// Config is the job as the user describes it, in YAML, MAILFERRY_*
// environment variables and flags (in rising precedence).
type Config struct {
	State       string        `mapstructure:"state"`
	Dedup       string        `mapstructure:"dedup"`
	LockTimeout time.Duration `mapstructure:"lock_timeout"`
	// Settle is how long the folders a killed run was appending to must
	// stay unchanged before the next run looks for the messages it sent
	// (default 5s).
	Settle  time.Duration    `mapstructure:"settle"`
	Target  Endpoint         `mapstructure:"target"`
	Sources []SourceEndpoint `mapstructure:"sources"`
}

// Endpoint is a server and how to log in to it.
type Endpoint struct {
	URL             string        `mapstructure:"url"`
	PasswordEnv     string        `mapstructure:"password_env"`
	PasswordFile    string        `mapstructure:"password_file"`
	PasswordCommand string        `mapstructure:"password_command"`
	TLS             string        `mapstructure:"tls"` // "" (by scheme) or "none"
	AllowPlaintext  bool          `mapstructure:"allow_plaintext"`
	TLSSkipVerify   bool          `mapstructure:"tls_skip_verify"`
	CAFile          string        `mapstructure:"ca_file"`
	Timeout         time.Duration `mapstructure:"timeout"`
	Connections     int           `mapstructure:"connections"` // target only
}

// SourceEndpoint is one source of the job: a POP3 server, or an archive
// (mbox:PATH, maildir:PATH, eml:PATH, thunderbird:PATH).
type SourceEndpoint struct {
	Endpoint       `mapstructure:",squash"`
	Folder         string       `mapstructure:"folder"`
	AllowNoUIDL    bool         `mapstructure:"allow_no_uidl"`
	FolderMap      []FolderPair `mapstructure:"folder_map"`
	Include        []string     `mapstructure:"include"`
	Exclude        []string     `mapstructure:"exclude"`
	IncludeDeleted bool         `mapstructure:"include_deleted"`
	// Delete says when copied messages are removed from a POP3 server:
	// "leave" (default), "after-upload", or "keep-days:N".
	Delete string `mapstructure:"delete"`
	// MergeAccounts, for a thunderbird: source, merges accounts' folders
	// into the top level beside the default account's and Local
	// Folders': true (every account), or a list of account names (as
	// Thunderbird shows them) or directory names under Mail/. Read by
	// mergeAccounts.
	MergeAccounts any `mapstructure:"merge_accounts"`
}

// mergeAccounts reads a source's merge_accounts: absent or false (none),
// true (every account: "*"), or a name or a list of names.
func (s *SourceEndpoint) mergeAccounts(i int) ([]string, error) {
	bad := configErrorf("sources[%d].merge_accounts: want true, false, or a list of account names (as Thunderbird shows them, "+
		"or their directory names under Mail/)", i)
	switch v := s.MergeAccounts.(type) {
	case nil:
		return nil, nil
	case bool:
		if v {
			return []string{"*"}, nil
		}
		return nil, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, bad
		}
		return []string{v}, nil
	case []any:
		var names []string
		for _, n := range v {
			name, ok := n.(string)
			if !ok || strings.TrimSpace(name) == "" {
				return nil, bad
			}
			names = append(names, name)
		}
		return names, nil
	}
	return nil, bad
}

// FolderPair renames a source folder: a list of pairs, because viper
// lower-cases map keys.
type FolderPair struct {
	From string `mapstructure:"from"`
	To   string `mapstructure:"to"`
}

// configError is a mistake in the configuration or the command line: exit 2.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

func configErrorf(format string, args ...any) error {
	return &configError{fmt.Errorf(format, args...)}
}

// envKeys are the keys that MAILFERRY_* variables can set
// (MAILFERRY_TARGET_URL sets target.url). Lists cannot come from the
// environment.
var envKeys = []string{
	"state", "dedup", "lock_timeout", "settle",
	"target.url", "target.password_env", "target.password_file", "target.password_command",
	"target.tls", "target.allow_plaintext", "target.tls_skip_verify", "target.ca_file",
	"target.timeout", "target.connections",
}

// loadConfig reads file (may be ""), the environment, and the flags the
// user set, through v.
func loadConfig(v *viper.Viper, file string) (*Config, error) {
	v.SetDefault("state", "./mailferry.db")
	v.SetDefault("dedup", "account")
	v.SetDefault("target.connections", 8)
	v.SetEnvPrefix("MAILFERRY")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	for _, k := range envKeys {
		if err := v.BindEnv(k); err != nil {
			return nil, err
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, configErrorf("config %s: %v", file, err)
		}
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		return nil, configErrorf("config %s: %v", file, err)
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	switch c.Dedup {
	case "account", "folder", "off":
	default:
		return configErrorf("dedup: %q is not one of account, folder, off", c.Dedup)
	}
	if c.State == "" {
		return configErrorf("state: a state file path is required")
	}
	if c.Target.URL == "" {
		return configErrorf("target.url is required (imaps://user@host or imap://user@host)")
	}
	if _, err := c.Target.parse("imap"); err != nil {
		return err
	}
	if c.Target.Connections < 1 || c.Target.Connections > 64 {
		return configErrorf("target.connections: %d is not between 1 and 64", c.Target.Connections)
	}
	if c.Settle < 0 || c.Settle > 10*time.Minute {
		return configErrorf("settle: %v is not between 0 and 10m", c.Settle)
	}
	if len(c.Sources) == 0 {
		return configErrorf("sources: at least one source is required")
	}
	for i, s := range c.Sources {
		if s.URL == "" {
			return configErrorf("sources[%d].url is required", i)
		}
		kind, _, archive := archiveURL(s.URL)
		if s.MergeAccounts != nil && kind != "thunderbird" {
			return configErrorf("sources[%d].merge_accounts: applies to thunderbird: sources only", i)
		}
		if _, err := s.mergeAccounts(i); err != nil {
			return err
		}
		if archive {
			if s.Delete != "" && s.Delete != "leave" {
				return configErrorf("sources[%d].delete: archives are never changed; delete applies to POP3 sources only", i)
			}
			continue // checked when opened
		}
		if _, err := s.parse("pop3"); err != nil {
			return err
		}
		if _, err := parseDelete(s.Delete); err != nil {
			return configErrorf("sources[%d].delete: %v", i, err)
		}
	}
	return nil
}

// server is an endpoint with its URL taken apart.
type server struct {
	Scheme   string // "pop3", "pop3s", "imap", "imaps"
	Host     string // without port
	Addr     string // host:port
	User     string
	Implicit bool // TLS from the first byte
	Plain    bool // no TLS at all (tls: none)
}

// Name is how the server is named in the state, logs and reports: no
// password, ever.
func (s server) Name() string { return s.Scheme + "://" + url.User(s.User).String() + "@" + s.Addr }

var defaultPorts = map[string]int{"pop3": 110, "pop3s": 995, "imap": 143, "imaps": 993}

// parse checks the endpoint's URL against proto ("pop3" or "imap").
func (e *Endpoint) parse(proto string) (server, error) {
	u, err := url.Parse(e.URL)
	if err != nil {
		if strings.Contains(e.URL, "@") {
			// The parser's message quotes the URL, password and all.
			return server{}, configErrorf("url %q: not a valid URL", redact(e.URL))
		}
		return server{}, configErrorf("url %q: %v", redact(e.URL), err)
	}
	s := server{Scheme: u.Scheme, Host: u.Hostname(), User: u.User.Username()}
	if s.Scheme != proto && s.Scheme != proto+"s" {
		return server{}, configErrorf("url %q: scheme must be %s:// or %ss://", redact(e.URL), proto, proto)
	}
	if _, has := u.User.Password(); has {
		return server{}, configErrorf("url %q: do not put a password in a URL; use password_env, password_file or password_command", redact(e.URL))
	}
	if s.User == "" || s.Host == "" {
		return server{}, configErrorf("url %q: needs a user and a host, as in %s://alice@mail.example.org", redact(e.URL), proto)
	}
	port := defaultPorts[s.Scheme]
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return server{}, configErrorf("url %q: bad port", redact(e.URL))
		}
	}
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	s.Implicit = s.Scheme == proto+"s"
	switch e.TLS {
	case "":
	case "none":
		if !e.AllowPlaintext {
			return server{}, configErrorf("url %q: tls: none sends the password in clear; set allow_plaintext: true to mean it", redact(e.URL))
		}
		if s.Implicit {
			return server{}, configErrorf("url %q: tls: none contradicts %s://", redact(e.URL), s.Scheme)
		}
		s.Plain = true
	default:
		return server{}, configErrorf("url %q: tls: %q is not supported (leave it out, or none)", redact(e.URL), e.TLS)
	}
	return s, nil
}

// urlFlags are the flags that take server URLs.
var urlFlags = []string{"target", "source"}

// passwordOnCommandLine refuses a URL flag that holds a password, like a
// URL with a password anywhere, and says what the user must do now: the
// password has been in the process list and is in the shell history.
func passwordOnCommandLine(f *pflag.FlagSet) error {
	for _, name := range urlFlags {
		fl := f.Lookup(name)
		if fl == nil || !fl.Changed {
			continue
		}
		values := []string{fl.Value.String()}
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			values = sv.GetSlice()
		}
		for _, v := range values {
			if hasPassword(v) {
				return configErrorf("--%s %q: do not put a password in a URL. This one was on the command line: "+
					"other users of this machine could see it in the process list, and your shell history keeps it. "+
					"Change this password, then give the new one through password_env, password_file or "+
					"password_command (see --help)", name, redact(v))
			}
		}
	}
	return nil
}

// hasPassword reports whether a server URL holds a password, also when it
// does not parse (a password with "#", "/" or "?" in it).
func hasPassword(raw string) bool {
	if u, err := url.Parse(raw); err == nil {
		_, has := u.User.Password()
		return has
	}
	_, rest, ok := strings.Cut(raw, "://")
	i := strings.LastIndex(rest, "@")
	return ok && i >= 0 && strings.Contains(rest[:i], ":")
}

// redact removes a password from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "<redacted>" + raw[i:]
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}

// tlsConfig builds the TLS settings for an endpoint: certificates are
// verified unless the user opts out.
func (e *Endpoint) tlsConfig(s server) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.TLSSkipVerify}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, configErrorf("ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErrorf("ca_file %s: no PEM certificate in it", e.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// password finds the endpoint's password: password_file, then
// password_command, then password_env (default defaultEnv), then a prompt
// when stdin is a terminal. key names the config key for messages.
func (e *Endpoint) password(ctx context.Context, key, defaultEnv string, s server) (string, error) {
	switch {
	case e.PasswordFile != "":
		b, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return "", configErrorf("%s.password_file: %v", key, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case e.PasswordCommand != "":
		out, err := exec.CommandContext(ctx, "sh", "-c", e.PasswordCommand).Output()
		if err != nil {
			return "", configErrorf("%s.password_command failed: %v", key, err)
		}
		return strings.TrimRight(string(out), "\r\n"), nil
	}
	env := e.PasswordEnv
	if env == "" {
		env = defaultEnv
	}
	if p, ok := os.LookupEnv(env); ok && p != "" {
		return p, nil
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		return prompt(fmt.Sprintf("Password for %s: ", s.Name()))
	}
	return "", configErrorf("no password for %s: set the environment variable %s, or %s.password_file or %s.password_command",
		s.Name(), env, key, key)
}

func prompt(label string) (string, error) {
	fmt.Fprint(os.Stderr, label)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		line, rerr := bufio.NewReader(os.Stdin).ReadString('\n')
		if rerr != nil {
			return "", errors.Join(err, rerr)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	return string(b), nil
}

// parseDelete reads a POP3 source's delete setting: "" or "leave" (nil:
// never delete), "after-upload", or "keep-days:N".
func parseDelete(s string) (*migrate.DeletePolicy, error) {
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
