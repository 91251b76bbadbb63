package thunderbird

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"
)

// prefs holds the user_pref values of a prefs.js: strings unescaped,
// numbers and booleans as written.
type prefs map[string]string

// readPrefs reads the prefs.js file at path. A missing file gives nil and
// no error; lines that are not a well-formed user_pref call are skipped.
func readPrefs(path string) (prefs, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("prefs: %w", err)
	}
	defer f.Close()
	p := prefs{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if k, v, ok := parsePref(sc.Text()); ok {
			p[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("prefs %s: %w", path, err)
	}
	return p, nil
}

// parsePref parses one line `user_pref("key", value);`.
func parsePref(line string) (key, value string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "user_pref(")
	if !ok {
		return "", "", false
	}
	key, rest, ok = jsString(strings.TrimSpace(rest))
	if !ok {
		return "", "", false
	}
	rest, ok = strings.CutPrefix(strings.TrimSpace(rest), ",")
	if !ok {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, `"`) {
		value, _, ok = jsString(rest)
		return key, value, ok
	}
	value, _, ok = strings.Cut(rest, ")")
	return key, strings.TrimSpace(value), ok
}

// jsString parses the JavaScript string literal at the start of s (in
// double quotes) and returns its value and what follows it.
func jsString(s string) (value, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			n, ok := jsEscape(&b, s[i+1:])
			if !ok {
				return "", "", false
			}
			i += n
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// jsEscape writes the character of the escape sequence that starts s
// (after the backslash) and returns the bytes it used.
func jsEscape(b *strings.Builder, s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	switch s[0] {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'u':
		return unicodeEscape(b, s)
	case 'x':
		n, err := strconv.ParseUint(s[1:min(3, len(s))], 16, 8)
		if err != nil || len(s) < 3 {
			return 0, false
		}
		b.WriteRune(rune(n))
		return 3, true
	default:
		b.WriteByte(s[0])
	}
	return 1, true
}

// unicodeEscape decodes "uXXXX", and a following "\uXXXX" when the two
// form a UTF-16 surrogate pair.
func unicodeEscape(b *strings.Builder, s string) (int, bool) {
	r1, ok := hex4(s[1:])
	if !ok {
		return 0, false
	}
	if utf16.IsSurrogate(r1) && strings.HasPrefix(s[5:], `\u`) {
		if r2, ok := hex4(s[7:]); ok {
			if r := utf16.DecodeRune(r1, r2); r != '\uFFFD' {
				b.WriteRune(r)
				return 11, true
			}
		}
	}
	b.WriteRune(r1)
	return 5, true
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:4], 16, 16)
	return rune(n), err == nil
}

// A server is one mail.server.serverN of prefs.js.
type server struct {
	id      string // "server1"
	typ     string // pop3, none, imap, nntp, rss, movemail, ...
	dir     string // its directory, "" when prefs.js names none
	name    string // its display name
	maildir bool   // storeContractID is the maildir store
}

const maildirStore = "@mozilla.org/msgstore/maildirstore;1"

// servers returns the servers of p's accounts (every server when p lists
// no accounts), sorted by id. profile resolves [ProfD].
func (p prefs) servers(profile string) []server {
	used := p.usedServers()
	var out []server
	for k, typ := range p {
		id, ok := strings.CutPrefix(k, "mail.server.")
		if !ok {
			continue
		}
		if id, ok = strings.CutSuffix(id, ".type"); !ok || strings.Contains(id, ".") {
			continue
		}
		if used != nil && !used[id] {
			continue
		}
		out = append(out, p.server(id, typ, profile))
	}
	sortBy(out, func(s server) string { return s.id })
	return out
}

// usedServers returns the servers that mail.accountmanager.accounts
// (and localfoldersserver) name, or nil when the list is absent.
func (p prefs) usedServers() map[string]bool {
	list, ok := p["mail.accountmanager.accounts"]
	if !ok {
		return nil
	}
	used := map[string]bool{}
	for _, a := range strings.Split(list, ",") {
		if s := p["mail.account."+strings.TrimSpace(a)+".server"]; s != "" {
			used[s] = true
		}
	}
	if s := p["mail.accountmanager.localfoldersserver"]; s != "" {
		used[s] = true
	}
	return used
}

func (p prefs) server(id, typ, profile string) server {
	pre := "mail.server." + id + "."
	s := server{id: id, typ: typ, name: p[pre+"name"], maildir: p[pre+"storeContractID"] == maildirStore}
	if rel, ok := strings.CutPrefix(p[pre+"directory-rel"], "[ProfD]"); ok && rel != "" {
		s.dir = filepath.Join(profile, filepath.FromSlash(rel))
	} else if d := p[pre+"directory"]; d != "" {
		s.dir = d
	}
	return s
}

// primaryServer returns the server of the default account, or of the
// account that one defers its mail to; "" when prefs.js does not say.
func (p prefs) primaryServer() string {
	acct := p["mail.accountmanager.defaultaccount"]
	srv := p["mail.account."+acct+".server"]
	if to := p["mail.server."+srv+".deferred_to_account"]; to != "" {
		if s := p["mail.account."+to+".server"]; s != "" {
			return s
		}
	}
	return srv
}
