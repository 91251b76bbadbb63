package maildir

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// b64 is the modified base64 of RFC 3501 section 5.1.3: "," instead of
// "/", no padding.
var b64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").
	WithPadding(base64.NoPadding).Strict()

// decodeMUTF7 decodes a mailbox name in IMAP modified UTF-7 (RFC 3501
// section 5.1.3) to UTF-8: "&-" is "&", "&...-" is base64 of UTF-16BE.
// Bytes outside "&...-" are kept as they are, so a name already in UTF-8
// (Dovecot's UTF-8 option) passes through unchanged. It returns an error
// for an unterminated or empty shift, base64 that does not decode to
// whole UTF-16 units, an unpaired surrogate, or invalid UTF-8.
func decodeMUTF7(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("invalid UTF-8")
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		j := strings.IndexByte(s, '-')
		if j < 0 {
			return "", errors.New("unterminated & shift")
		}
		if j == 0 {
			b.WriteByte('&')
		} else if err := decodeShift(&b, s[:j]); err != nil {
			return "", err
		}
		s = s[j+1:]
	}
}

// decodeShift appends the UTF-8 of one base64 run of UTF-16BE units.
func decodeShift(b *strings.Builder, run string) error {
	raw, err := b64.DecodeString(run)
	if err != nil {
		return fmt.Errorf("bad base64 %q: %w", run, err)
	}
	if len(raw)%2 != 0 {
		return fmt.Errorf("bad shift %q: odd number of bytes", run)
	}
	units := make([]uint16, len(raw)/2)
	for k := range units {
		units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
	}
	for k := 0; k < len(units); k++ {
		u := rune(units[k])
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && k+1 < len(units):
			r := utf16.DecodeRune(u, rune(units[k+1]))
			if r == utf8.RuneError {
				return fmt.Errorf("bad shift %q: unpaired surrogate", run)
			}
			b.WriteRune(r)
			k++
		case utf16.IsSurrogate(u):
			return fmt.Errorf("bad shift %q: unpaired surrogate", run)
		default:
			b.WriteRune(u)
		}
	}
	return nil
}
