package eml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mailferry/mailferry/source"
)

// ErrMalformed is wrapped by the error Open returns for an .emlx file
// whose structure is wrong: the message cannot be cut out of it.
var ErrMalformed = fmt.Errorf("malformed emlx: %w", source.ErrUnreadable)

const (
	maxCountLine = 64      // bytes searched for the byte-count line
	maxPlist     = 1 << 20 // bytes accepted after the message
)

// emlxMeta is what an .emlx file says about its message.
type emlxMeta struct {
	off, n   int64  // the message is bytes [off, off+n)
	flags    uint64 // the plist's "flags"; 0 when absent
	received time.Time
}

// Bits of the emlx "flags" integer. Apple does not document them; these
// follow Jamie Zawinski's reverse-engineered table
// (http://jwz.livejournal.com/505711.html), which Thunderbird's Apple
// Mail importer (mailnews/import/applemail, nsEmlxHelperUtils.h) also
// uses: bit 0 read, 1 deleted, 2 answered, 3 encrypted, 4 flagged,
// 5 recent, 6 draft, 7 initial, 8 forwarded, 9 redirected, higher bits
// attachment count, priority, signed and junk state (not mapped).
const (
	emlxRead      = 1 << 0
	emlxDeleted   = 1 << 1
	emlxAnswered  = 1 << 2
	emlxFlagged   = 1 << 4
	emlxDraft     = 1 << 6
	emlxForwarded = 1 << 8
)

// imapFlags maps the emlx flags to IMAP flags.
func (m emlxMeta) imapFlags() []string {
	var out []string
	for _, f := range []struct {
		bit  uint64
		flag string
	}{{emlxRead, `\Seen`}, {emlxAnswered, `\Answered`}, {emlxFlagged, `\Flagged`},
		{emlxDeleted, `\Deleted`}, {emlxDraft, `\Draft`}, {emlxForwarded, `$Forwarded`}} {
		if m.flags&f.bit != 0 {
			out = append(out, f.flag)
		}
	}
	return out
}

func (m emlxMeta) deleted() bool { return m.flags&emlxDeleted != 0 }

// parseEMLX checks the structure of the size bytes of r as an .emlx file
// and returns where the message is and what its plist says. Every error
// wraps ErrMalformed, except read errors of r.
func parseEMLX(r io.ReaderAt, size int64) (emlxMeta, error) {
	var m emlxMeta
	head := make([]byte, min(size, maxCountLine))
	if k, err := r.ReadAt(head, 0); k < len(head) {
		return m, fmt.Errorf("read: %w", err)
	}
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return m, fmt.Errorf("%w: no byte-count line", ErrMalformed)
	}
	num := string(bytes.Trim(head[:i], " \t\r"))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || num == "" || num[0] < '0' || num[0] > '9' {
		return m, fmt.Errorf("%w: first line %q is not a byte count", ErrMalformed, head[:i])
	}
	m.off, m.n = int64(i+1), n
	rest := size - m.off
	switch {
	case n > rest:
		return m, fmt.Errorf("%w: byte count %d exceeds the %d bytes after the first line", ErrMalformed, n, rest)
	case n == rest:
		return m, fmt.Errorf("%w: no plist after the %d-byte message (wrong byte count?)", ErrMalformed, n)
	case rest-n > maxPlist:
		return m, fmt.Errorf("%w: %d bytes after the %d-byte message, too many for a plist (wrong byte count?)", ErrMalformed, rest-n, n)
	}
	tail := make([]byte, rest-n)
	if k, err := r.ReadAt(tail, m.off+n); k < len(tail) {
		return m, fmt.Errorf("read: %w", err)
	}
	if err := m.parsePlist(tail); err != nil {
		return m, fmt.Errorf("%w: the bytes after the %d-byte message are not its plist (wrong byte count?): %v", ErrMalformed, n, err)
	}
	return m, nil
}

// parsePlist reads the flags and the date received from an XML plist
// whose top value is a dict.
func (m *emlxMeta) parsePlist(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	if err := expectStart(d, "plist"); err != nil {
		return err
	}
	if err := expectStart(d, "dict"); err != nil {
		return err
	}
	vals, err := readDict(d)
	if err != nil {
		return err
	}
	if err := expectEnd(d); err != nil {
		return err
	}
	return m.setValues(vals)
}

// setValues takes "flags" and "date-received" from the plist's values.
func (m *emlxMeta) setValues(vals map[string]string) error {
	if s, ok := vals["flags"]; ok {
		f, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("flags %q: not an integer", s)
		}
		m.flags = f
	}
	if s, ok := vals["date-received"]; ok {
		sec, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(sec) || math.Abs(sec) > 1e11 {
			return fmt.Errorf("date-received %q: not a time", s)
		}
		whole, frac := math.Modf(sec)
		m.received = time.Unix(int64(whole), int64(frac*1e9)).UTC()
	}
	return nil
}

// expectStart reads up to the start of element name, allowing only the
// XML declaration, a DOCTYPE, comments and white space before it.
func expectStart(d *xml.Decoder, name string) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("before <%s>: %w", name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != name {
				return fmt.Errorf("<%s> where <%s> was expected", t.Name.Local, name)
			}
			return nil
		case xml.EndElement:
			return fmt.Errorf("</%s> where <%s> was expected", t.Name.Local, name)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("text %.20q where <%s> was expected", t, name)
			}
		}
	}
}

// readDict reads the entries of a dict up to its end; values other than
// integer, real, string and date are skipped.
func readDict(d *xml.Decoder) (map[string]string, error) {
	vals := map[string]string{}
	key, haveKey := "", false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("dict: %w", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return vals, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("dict: text %.20q", t)
			}
		case xml.StartElement:
			if t.Name.Local == "key" {
				if err := d.DecodeElement(&key, &t); err != nil {
					return nil, fmt.Errorf("dict key: %w", err)
				}
				haveKey = true
				continue
			}
			if !haveKey {
				return nil, fmt.Errorf("dict: <%s> without a key", t.Name.Local)
			}
			if err := readValue(d, t, key, vals); err != nil {
				return nil, err
			}
			haveKey = false
		}
	}
}

// readValue stores the text of a scalar value under key and skips others.
func readValue(d *xml.Decoder, t xml.StartElement, key string, vals map[string]string) error {
	switch t.Name.Local {
	case "integer", "real", "string", "date":
		var v string
		if err := d.DecodeElement(&v, &t); err != nil {
			return fmt.Errorf("dict %q: %w", key, err)
		}
		vals[key] = strings.TrimSpace(v)
		return nil
	}
	if err := d.Skip(); err != nil {
		return fmt.Errorf("dict %q: %w", key, err)
	}
	return nil
}

// expectEnd reads the rest: the end of the plist element, then only
// comments and white space.
func expectEnd(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("after the dict: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("<%s> after the dict", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("text %.20q after the dict", t)
			}
		}
	}
}
