package main

import (
	"github.com/mailferry/mailferry/internal/oauth2"

	"bufio"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"golang.org/x/term"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
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
	// StateDir and MaxConnectionsPerServer are mailferry batch's
	// (cmd_batch.go): the accounts' state files, and the cap on the
	// connections to one server over all accounts (0: none).
	StateDir                string `mapstructure:"state_dir"`
	MaxConnectionsPerServer int    `mapstructure:"max_connections_per_server"`

	// recheck is migrate's --recheck (job.Config.Recheck): not a key.
	recheck bool
	// StateNote, when not empty, says how a relative State was resolved
	// (see resolveState): logged once by the commands.
	StateNote string `mapstructure:"-"`
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
	TLSFingerprint  string        `mapstructure:"tls_fingerprint"` // sha256:HEX of the one certificate to accept
	Timeout         time.Duration `mapstructure:"timeout"`
	Connections     int           `mapstructure:"connections"` // target only
	// MaxBytesPerSecond bounds the bytes sent to the target: a number of
	// bytes, or with a suffix k, m, g (KiB, MiB, GiB). Target only.
	MaxBytesPerSecond any `mapstructure:"max_bytes_per_second"`
	// AdminUser logs in as this admin on the URL user's mailbox, with the
	// admin's password; MasterSeparator, when set, sends "user*admin"
	// instead of SASL PLAIN with an authorization identity (job.Server).
	AdminUser       string `mapstructure:"admin_user"`
	MasterSeparator string `mapstructure:"master_separator"`
	// Preset names a provider (gmail, microsoft365, fastmail): its host,
	// port and limits (job.Presets).
	Preset string `mapstructure:"preset"`
	// OAuth2TokenCommand is a YAML list (argv) or a string split at
	// spaces with quotes honoured; no shell runs it (job.Server).
	OAuth2TokenCommand any    `mapstructure:"oauth2_token_command"`
	OAuth2TokenFile    string `mapstructure:"oauth2_token_file"`
	Auth               string `mapstructure:"auth"`
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
	// Since and Before are dates (2024-01-31, midnight local time, or
	// RFC 3339); MaxMessageSize a size like max_bytes_per_second's. See
	// migrate.Filter.
	Since          any `mapstructure:"since"`
	Before         any `mapstructure:"before"`
	MaxMessageSize any `mapstructure:"max_message_size"`
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

// mergeAccounts reads a source's merge_accounts: absent (nil), false
// (none, but not nil), true (every account: "*"), or a name or a list of
// names.
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
		return []string{}, nil // set: a mistake for a source that does not merge accounts
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
	"target.tls_fingerprint", "target.admin_user", "target.master_separator",
	"target.timeout", "target.connections", "target.max_bytes_per_second",
	"target.preset",
	"target.oauth2_token_command", "target.oauth2_token_file", "target.auth",
}

// loadConfig reads file (may be ""), the environment, and the flags the
// user set, through v, and validates the job.
func loadConfig(v *viper.Viper, file string) (*Config, error) {
	c, err := readConfig(v, file)
	if err != nil {
		return nil, err
	}
	return c, c.validate()
}

// readConfig is loadConfig without validating the job (mailferry batch
// validates each account's).
func readConfig(v *viper.Viper, file string) (*Config, error) {
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
		if file != "" {
			if kerr := unknownKeys(file); kerr != nil {
				return nil, kerr
			}
		}
		return nil, configErrorf("config %s: %v", file, err)
	}
	return &c, nil
}

// resolveState makes a relative state path from the config file (or the
// default, when a config file is given) relative to the config file's
// directory, not the working directory: cron runs from elsewhere must
// find the same state file. A path from --state or MAILFERRY_STATE stays
// relative to the working directory, as any path on a command line.
// StateNote then says what was done, for the log.
func (c *Config) resolveState(file string, fromFlag bool) {
	if file == "" || c.State == "" || filepath.IsAbs(c.State) || fromFlag {
		return
	}
	if _, env := os.LookupEnv("MAILFERRY_STATE"); env {
		return
	}
	abs, err := filepath.Abs(filepath.Join(filepath.Dir(file), c.State))
	if err != nil {
		return
	}
	c.StateNote = fmt.Sprintf("state %s is relative to the config file's directory: using %s", c.State, abs)
	c.State = abs
}

func (c *Config) validate() error {
	jc, err := c.jobConfig()
	if err != nil {
		return err
	}
	return usageError(jc.Validate())
}

// jobConfig maps the configuration onto the job's. Passwords are asked
// for when the job connects (see Endpoint.password).
func (c *Config) jobConfig() (job.Config, error) {
	jc := job.Config{State: c.State, Dedup: migrate.Dedup(c.Dedup), LockTimeout: c.LockTimeout, Settle: c.Settle,
		Target: c.Target.server("target", "MAILFERRY_TARGET_PASSWORD"), Recheck: c.recheck}
	rate, err := parseSize("target.max_bytes_per_second", c.Target.MaxBytesPerSecond)
	if err != nil {
		return job.Config{}, err
	}
	if jc.Target.OAuth2TokenCommand, err = tokenCommand("target", c.Target.OAuth2TokenCommand); err != nil {
		return job.Config{}, err
	}
	jc.Target.MaxBytesPerSecond = rate
	for i := range c.Sources {
		s := &c.Sources[i]
		merge, err := s.mergeAccounts(i)
		if err != nil {
			return job.Config{}, err
		}
		if s.MaxBytesPerSecond != nil {
			return job.Config{}, configErrorf("sources[%d].max_bytes_per_second: applies to the target only", i)
		}
		since, err := parseDate(fmt.Sprintf("sources[%d].since", i), s.Since)
		if err != nil {
			return job.Config{}, err
		}
		before, err := parseDate(fmt.Sprintf("sources[%d].before", i), s.Before)
		if err != nil {
			return job.Config{}, err
		}
		maxSize, err := parseSize(fmt.Sprintf("sources[%d].max_message_size", i), s.MaxMessageSize)
		if err != nil {
			return job.Config{}, err
		}
		var maps []migrate.FolderMap
		for _, m := range s.FolderMap {
			maps = append(maps, migrate.FolderMap{From: m.From, To: m.To})
		}
		srv := s.server(fmt.Sprintf("sources[%d]", i), "MAILFERRY_SOURCE_PASSWORD")
		if srv.OAuth2TokenCommand, err = tokenCommand(fmt.Sprintf("sources[%d]", i), s.OAuth2TokenCommand); err != nil {
			return job.Config{}, err
		}
		jc.Sources = append(jc.Sources, job.Source{
			Server: srv,
			Folder: s.Folder, AllowNoUIDL: s.AllowNoUIDL, FolderMap: maps, Include: s.Include, Exclude: s.Exclude,
			IncludeDeleted: s.IncludeDeleted, Delete: s.Delete, MergeAccounts: merge,
			Since: since, Before: before, MaxMessageSize: maxSize})
	}
	return jc, nil
}

// parseDate reads a date setting: absent (zero), a YAML date, a date
// 2006-01-02 (midnight, local time), or RFC 3339 with a time and zone.
func parseDate(key string, v any) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 && v.Nanosecond() == 0 && v.Location() == time.UTC {
			// A bare YAML date: midnight where the admin is.
			y, m, d := v.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.Local), nil
		}
		return v, nil
	case string:
		s := strings.TrimSpace(v)
		if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, configErrorf("%s: %v is not a date (2024-01-31, or 2024-01-31T08:00:00+01:00)", key, v)
}

// parseSize reads a size setting: absent (0), a number of bytes, or a
// number with a suffix k, m or g (KiB, MiB, GiB; "kb", "KiB", "MB" too).
func parseSize(key string, v any) (int64, error) {
	bad := configErrorf("%s: %v is not a size in bytes (1048576, 512k, 10m, 1g)", key, v)
	switch v := v.(type) {
	case nil:
		return 0, nil
	case int:
		if v < 0 {
			return 0, bad
		}
		return int64(v), nil
	case int64:
		if v < 0 {
			return 0, bad
		}
		return v, nil
	case string:
		s := strings.ToLower(strings.TrimSpace(v))
		s = strings.TrimSuffix(strings.TrimSuffix(s, "b"), "i")
		mult := int64(1)
		switch {
		case strings.HasSuffix(s, "k"):
			mult = 1 << 10
		case strings.HasSuffix(s, "m"):
			mult = 1 << 20
		case strings.HasSuffix(s, "g"):
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 0 || n > (1<<62)/mult {
			return 0, bad
		}
		return n * mult, nil
	}
	return 0, bad
}

// server maps an endpoint onto the job's; key names it in messages and
// defaultEnv is the variable that holds its password by default.
func (e *Endpoint) server(key, defaultEnv string) job.Server {
	return job.Server{URL: e.URL, TLS: e.TLS, AllowPlaintext: e.AllowPlaintext, TLSSkipVerify: e.TLSSkipVerify,
		CAFile: e.CAFile, TLSFingerprint: e.TLSFingerprint, Timeout: e.Timeout, Connections: e.Connections,
		AdminUser: e.AdminUser, MasterSeparator: e.MasterSeparator, Preset: e.Preset,
		OAuth2TokenFile: e.OAuth2TokenFile, Auth: e.Auth,
		Password: func(ctx context.Context, name string) (string, error) {
			return e.password(ctx, key, defaultEnv, name)
		}}
}

// usageError makes a job's configuration error a configError (exit 2).
func usageError(err error) error {
	var je *job.ConfigError
	if errors.As(err, &je) {
		return &configError{err}
	}
	return err
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
					"password_command (see --help)", name, job.Redact(v))
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

// password finds the endpoint's password: password_file, then
// password_command, then password_env (default defaultEnv), then a prompt
// when stdin is a terminal. key names the config key for messages.
func (e *Endpoint) password(ctx context.Context, key, defaultEnv, name string) (string, error) {
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
		return prompt(fmt.Sprintf("Password for %s: ", name))
	}
	return "", configErrorf("no password for %s: set the environment variable %s, or %s.password_file or %s.password_command",
		name, env, key, key)
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

// tokenCommand reads oauth2_token_command: absent, a list of strings
// (argv), or a string split into argv without a shell.
func tokenCommand(key string, v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		argv, err := oauth2.SplitCommand(v)
		if err != nil {
			return nil, configErrorf("%s.%v", key, err)
		}
		return argv, nil
	case []any:
		var argv []string
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, configErrorf("%s.oauth2_token_command: each item of the list must be a string", key)
			}
			argv = append(argv, s)
		}
		if len(argv) == 0 || argv[0] == "" {
			return nil, configErrorf("%s.oauth2_token_command: empty", key)
		}
		return argv, nil
	case []string:
		return tokenCommand(key, func() []any {
			out := make([]any, len(v))
			for i := range v {
				out[i] = v[i]
			}
			return out
		}())
	}
	return nil, configErrorf("%s.oauth2_token_command: a list of strings or a string", key)
}
