// Package batch runs one migration job per account of a list: it reads
// the accounts (a CSV file with a header, ReadAccounts, or imapsync's
// format, ReadImapsync) into job.Configs made from a
// base job.Config, names each account's state file, runs N accounts at
// once with a cap on the connections open to each server, keeps one
// account's failure from stopping the others, and collects each account's
// result.
//
// # State files
//
// Each account has its own state file in the state directory, named by
// StateName: a readable slug of the account (target user, source user)
// and a hash of the account's exact key, so that any characters are safe
// and two accounts never share a file. A re-run of the same list finds
// each account's state again: finished accounts only fetch new mail.
//
// # Connections per server
//
// MaxPerServer caps the connections open at once to one server (host:port),
// counted over all the accounts running. An account holds, for its whole
// run, as many tokens of its target server as its target Connections and
// one of each POP3 source server (a POP3 session is one connection); it
// starts only when all of them are free, all taken at once (no account
// holds some while waiting for others, so none can deadlock). Configs
// lowers each account's target Connections to max(1, MaxPerServer/Parallel)
// when that is less than configured, so that Parallel accounts fit under
// the cap together; when the cap is smaller than Parallel, accounts wait
// their turn and the cap still holds.
//
// # Shards
//
// ShardOf puts each account in one of N shards by the hash of its Key,
// the same key that names its state file, so an account's shard never
// depends on the rest of the list: N processes (a Kubernetes Indexed
// Job's pods, IndexEnv) running Shard(accounts, i, N) for i = 0..N-1
// cover every account exactly once, and adding accounts moves none.
//
// # Exit classes
//
// Each account's result has an exit class, the exit code `mailferry
// migrate` would have ended with for that account alone (0 done, 1
// messages failed, 2 configuration, 3 connect/login/TLS/quota, 4 locked,
// 130 interrupted). The batch's is the worst of them (Worst).
package batch

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/mailferry/mailferry/source"
)

// Secret says where a password is: in an environment variable or a file,
// or, read from an imapsync accounts file, the password itself (Value).
// Exactly one is set. Printed, it never shows Value.
type Secret struct {
	Env   string
	File  string
	Value string
}

// String describes s without its Value.
func (s Secret) String() string {
	switch {
	case s.Value != "":
		return "{password from the accounts file}"
	case s.File != "":
		return "{file " + s.File + "}"
	case s.Env != "":
		return "{env " + s.Env + "}"
	}
	return "{}"
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Account is one line of the accounts list.
type Account struct {
	// Line is the line of the CSV file the account is on (1 is the header).
	Line int
	// SourceURL is the POP3 server (pop3s://host[:port], a user in it is
	// replaced by SourceUser) or an archive (mbox:PATH, ...).
	SourceURL  string
	SourceUser string
	// TargetUser replaces the user of the base config's target URL.
	TargetUser string
	// SourcePassword is empty for an archive source.
	SourcePassword, TargetPassword Secret
	// Folder, when not empty, is the source's target folder.
	Folder string
	// StateDir, when not empty, is the directory of this account's state
	// file instead of Options.StateDir (a relative path is the accounts
	// file's directory's; mailferry batch resolves it).
	StateDir string
	// TargetHost, when not empty (imapsync's host2), replaces the host
	// of the base config's target URL: host or host:port, or a URL
	// (imaps://host:port) whose scheme, host and port replace the base's.
	TargetHost string
	// Overrides are the account's settings columns (ReadAccountsWith):
	// the column name, a config key (dedup, target.connections,
	// source.max_message_size, ...), to the cell, for non-empty cells.
	Overrides map[string]string
}

// Columns are the columns an accounts file may have.
var Columns = []string{"source_url", "source_user", "target_user",
	"source_password_env", "source_password_file", "target_password_env", "target_password_file", "folder", "state_dir"}

// Error is a mistake in the accounts list: the batch cannot start.
type Error struct {
	Line int // 0: the file as a whole
	Err  error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return "accounts: " + e.Err.Error()
	}
	return fmt.Sprintf("accounts line %d: %v", e.Line, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// ReadAccounts reads an accounts list: CSV (RFC 4180 quoting, a UTF-8 byte
// order mark allowed, "," or ";" as separator as the header line shows)
// with a header naming the columns, in any order. source_url, target_user
// and a target password (target_password_env or target_password_file) are
// required; a POP3 source needs source_user and a source password too.
// A column not in Columns is an error naming it. Lines whose first field
// starts with "#" and empty lines are skipped. Two lines for the same
// account (Key) are an error.
func ReadAccounts(r io.Reader) ([]Account, error) { return ReadAccountsWith(r, nil) }

// ReadAccountsWith is ReadAccounts that also takes the columns that
// setting says are settings: a column not in Columns for which setting
// returns nil goes, for each non-empty cell, into the account's
// Overrides; setting's error for a column is the file's error. A nil
// setting takes no such column.
func ReadAccountsWith(r io.Reader, setting func(column string) error) ([]Account, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{Err: err}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(data))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &Error{Err: errors.New("empty file: want a header line (" + strings.Join(Columns, ",") + ")")}
	}
	if err != nil {
		return nil, &Error{Err: err}
	}
	col := map[string]int{}
	settings := map[string]int{}
	var unknown []string
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(Columns, name) {
			if setting == nil {
				unknown = append(unknown, fmt.Sprintf("%q", h))
				continue
			}
			if err := setting(name); err != nil {
				return nil, &Error{Line: 1, Err: err}
			}
			if _, dup := settings[name]; dup {
				return nil, &Error{Line: 1, Err: fmt.Errorf("column %s appears twice", name)}
			}
			settings[name] = i
			continue
		}
		if _, dup := col[name]; dup {
			return nil, &Error{Line: 1, Err: fmt.Errorf("column %s appears twice", name)}
		}
		col[name] = i
	}
	if len(unknown) > 0 {
		return nil, &Error{Line: 1, Err: fmt.Errorf("unknown column %s (known columns: %s)",
			strings.Join(unknown, ", "), strings.Join(Columns, ", "))}
	}
	for _, need := range []string{"source_url", "target_user"} {
		if _, ok := col[need]; !ok {
			return nil, &Error{Line: 1, Err: fmt.Errorf("no column %s", need)}
		}
	}
	var accounts []Account
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &Error{Err: err}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, &Error{Line: line, Err: fmt.Errorf("%d fields, the header has %d", len(rec), len(header))}
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		a := Account{Line: line, SourceURL: get("source_url"), SourceUser: get("source_user"),
			TargetUser: get("target_user"), Folder: get("folder"), StateDir: get("state_dir"),
			SourcePassword: Secret{Env: get("source_password_env"), File: get("source_password_file")},
			TargetPassword: Secret{Env: get("target_password_env"), File: get("target_password_file")}}
		for name, i := range settings {
			if v := strings.TrimSpace(rec[i]); v != "" {
				if a.Overrides == nil {
					a.Overrides = map[string]string{}
				}
				a.Overrides[name] = v
			}
		}
		if err := a.check(); err != nil {
			return nil, &Error{Line: line, Err: err}
		}
		accounts = append(accounts, a)
	}
	return distinct(accounts)
}

// distinct refuses a list with two lines for one account, or none.
func distinct(accounts []Account) ([]Account, error) {
	seen := map[string]int{}
	for _, a := range accounts {
		if prev, dup := seen[a.Key()]; dup {
			return nil, &Error{Line: a.Line, Err: fmt.Errorf("the same account as line %d", prev)}
		}
		seen[a.Key()] = a.Line
	}
	if len(accounts) == 0 {
		return nil, &Error{Err: errors.New("no account in the file")}
	}
	names := map[string]int{}
	for _, a := range accounts {
		n := StateName(a)
		if prev, dup := names[n]; dup { // a hash collision: never seen, but never silent
			return nil, &Error{Line: a.Line, Err: fmt.Errorf("state file name %s is line %d's too", n, prev)}
		}
		names[n] = a.Line
	}
	return accounts, nil
}

// Archive reports whether the account's source is a local archive.
func (a *Account) Archive() bool {
	_, _, ok := source.ParseArchiveURL(a.SourceURL)
	return ok
}

func (a *Account) check() error {
	if a.SourceURL == "" {
		return errors.New("source_url is empty")
	}
	if a.TargetUser == "" {
		return errors.New("target_user is empty")
	}
	if err := a.TargetPassword.check("target"); err != nil {
		return err
	}
	if a.Archive() {
		if a.SourceUser != "" || a.SourcePassword != (Secret{}) {
			return errors.New("an archive source has no source_user or source password")
		}
		return nil
	}
	if hasPassword(a.SourceURL) {
		return errors.New("source_url holds a password: give it through source_password_env or source_password_file")
	}
	if a.SourceUser == "" {
		return errors.New("source_user is empty")
	}
	return a.SourcePassword.check("source")
}

func (s Secret) check(side string) error {
	if s.Value != "" {
		if s.Env != "" || s.File != "" {
			return fmt.Errorf("%s password given twice", side)
		}
		return nil
	}
	switch {
	case s.Env == "" && s.File == "":
		return fmt.Errorf("no %s password: set %s_password_env or %s_password_file", side, side, side)
	case s.Env != "" && s.File != "":
		return fmt.Errorf("both %s_password_env and %s_password_file: set one", side, side)
	}
	return nil
}

func hasPassword(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return strings.Contains(raw, "@")
	}
	_, has := u.User.Password()
	return has
}

// Key is the account's identity: its source and its target user (and
// its TargetHost, when set), exactly as written. It names the account's
// state file (StateName) and picks its shard (ShardOf).
func (a *Account) Key() string {
	k := a.SourceURL + "\x00" + a.SourceUser + "\x00" + a.TargetUser
	if a.TargetHost != "" {
		k += "\x00" + a.TargetHost
	}
	return k
}

// Name names the account in logs and results: "source_user -> target_user"
// (an archive's URL for its source user).
func (a *Account) Name() string {
	src := a.SourceUser
	if a.Archive() {
		src = a.SourceURL
	}
	return src + " -> " + a.TargetUser
}

// StateName is the name of the account's state file: a slug of the
// target and source users (letters, digits, '.', '_', '-', '@', at most
// 60 bytes, not starting with '.'), then "-" and 20 hex digits of the
// SHA-256 of Key, then ".db". Any characters are safe; accounts that
// differ in any way (case, spaces, the source URL) have different hashes,
// and ReadAccounts refuses a list in which two names are the same.
func StateName(a Account) string {
	return slug(a.TargetUser+"_"+a.SourceUser, 60) + "-" + hash(a.Key()) + ".db"
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:10])
}

func slug(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '@':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
