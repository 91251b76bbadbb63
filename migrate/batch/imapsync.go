package batch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadImapsync reads an accounts list in imapsync's format: a line per
// account, host1;user1;password1;host2;user2;password2; (the last ";"
// optional). Empty lines and lines starting with "#" are skipped; a UTF-8
// byte order mark and CRLF line ends are allowed.
//
// host1 is the POP3 source: a host or host:port is taken as pop3s://host1
// (imapsync's host1 is an IMAP server; mailferry reads POP3), or a URL
// with its scheme (pop3://host:110, mbox:PATH is not allowed: an archive
// has no user). host2 replaces the host of the base config's target URL,
// keeping its scheme and port unless host2 has a port (or is a URL,
// imaps://host:port). user2 is the target user.
//
// The passwords are in the file, as imapsync has them: the Accounts hold
// them (Secret.Value), never printed. The format has no quoting, so a
// password or user with ";" cannot be written: such a line has more than
// 6 fields and is an error (use the CSV format and a password file).
// Errors never quote a line, which holds passwords.
func ReadImapsync(r io.Reader) ([]Account, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{Err: err}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var accounts []Account
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, ";")
		if len(f) == 7 && f[6] == "" {
			f = f[:6]
		}
		if n := len(f); n != 6 {
			if n > 6 && f[n-1] == "" {
				n-- // the trailing ";"
			}
			return nil, &Error{Line: line, Err: fmt.Errorf("%d fields, want 6: host1;user1;password1;host2;user2;password2; "+
				"(a \";\" in a password or user cannot be written in this format: use the CSV format with a password file)", n)}
		}
		host1, user1, host2, user2 := strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), strings.TrimSpace(f[3]), strings.TrimSpace(f[4])
		for _, c := range []struct{ v, name string }{{host1, "host1"}, {user1, "user1"}, {f[2], "password1"},
			{host2, "host2"}, {user2, "user2"}, {f[5], "password2"}} {
			if c.v == "" {
				return nil, &Error{Line: line, Err: fmt.Errorf("%s is empty", c.name)}
			}
		}
		src := host1
		if !strings.Contains(src, "://") {
			src = "pop3s://" + src
		}
		a := Account{Line: line, SourceURL: src, SourceUser: user1, TargetUser: user2, TargetHost: host2,
			SourcePassword: Secret{Value: f[2]}, TargetPassword: Secret{Value: f[5]}}
		if a.Archive() {
			return nil, &Error{Line: line, Err: errors.New("host1: an archive has no user: use the CSV format")}
		}
		if err := a.check(); err != nil {
			return nil, &Error{Line: line, Err: err}
		}
		accounts = append(accounts, a)
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{Err: err}
	}
	return distinct(accounts)
}
