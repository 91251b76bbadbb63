package wire

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"
)

// ErrUnsupported means a command cannot be encoded here (a flag that is
// not an atom): the go-imap path takes it.
var ErrUnsupported = errors.New("not supported by the pipelined path")

// appendDate is RFC 3501's date-time with a two-digit day.
const appendDate = "02-Jan-2006 15:04:05 -0700"

// AppendHead returns `APPEND <mailbox> (<flags>) "<date>" ` without tag
// and literal, or ErrUnsupported (wrapped). A zero date is left out.
func AppendHead(folder string, flags []imap.Flag, date time.Time) (string, error) {
	var b strings.Builder
	b.WriteString("APPEND ")
	b.WriteString(MailboxArg(folder))
	if len(flags) > 0 {
		b.WriteString(" (")
		for i, f := range flags {
			if !validFlag(string(f)) {
				return "", fmt.Errorf("flag %q: %w", f, ErrUnsupported)
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(string(f))
		}
		b.WriteByte(')')
	}
	if !date.IsZero() {
		b.WriteString(` "` + date.Format(appendDate) + `"`)
	}
	b.WriteByte(' ')
	return b.String(), nil
}

// MailboxArg encodes a mailbox name as go-imap does: INBOX as an atom,
// any other name in modified UTF-7 (RFC 3501 5.1.3) as a quoted string.
func MailboxArg(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return Quote(utf7Encode(name))
}

// Quote returns s as a quoted string; s must be Quotable.
func Quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Quotable reports whether s can be sent as a quoted string: printable
// ASCII, at most 1000 octets.
func Quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c == '\r' || c == '\n' || c > 0x7e {
			return false
		}
	}
	return len(s) <= 1000
}

// validFlag reports whether s is a flag atom, `\` allowed first only.
func validFlag(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i == 0:
		case c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0:
			return false
		}
	}
	return s != ""
}

// utf7Encode encodes s in modified UTF-7: printable ASCII as itself, "&"
// as "&-", anything else as "&" + base64 (with ",") of UTF-16BE + "-".
func utf7Encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if c := s[i]; c >= 0x20 && c <= 0x7e {
			b.WriteByte(c)
			if c == '&' {
				b.WriteByte('-')
			}
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] < 0x20 || s[j] > 0x7e) {
			j++
		}
		var u []uint16
		for _, r := range s[i:j] { // invalid UTF-8 becomes U+FFFD
			u = utf16.AppendRune(u, r)
		}
		raw := make([]byte, 0, 2*len(u))
		for _, v := range u {
			raw = append(raw, byte(v>>8), byte(v))
		}
		b.WriteByte('&')
		b.WriteString(utf7Base64.EncodeToString(raw))
		b.WriteByte('-')
		i = j
	}
	return b.String()
}

var utf7Base64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)
