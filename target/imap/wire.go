package imap

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/target"
)

// The raw wire format of the pipelined APPEND path (pipeline.go): command
// encoding and response parsing, just enough for login and APPEND.

// errUnsupported means the pipelined path cannot send this command (a flag
// that is not an atom, an unquotable login): the go-imap path takes it.
var errUnsupported = errors.New("not supported by the pipelined path")

// appendDate is RFC 3501's date-time with a two-digit day.
const appendDate = "02-Jan-2006 15:04:05 -0700"

// appendHead returns `APPEND <mailbox> (<flags>) "<date>" ` without tag
// and literal, or errUnsupported.
func appendHead(folder string, msg target.Message) (string, error) {
	var b strings.Builder
	b.WriteString("APPEND ")
	b.WriteString(mailboxArg(folder))
	if flags := appendFlags(msg.Flags); len(flags) > 0 {
		b.WriteString(" (")
		for i, f := range flags {
			if !validFlag(string(f)) {
				return "", fmt.Errorf("flag %q: %w", f, errUnsupported)
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(string(f))
		}
		b.WriteByte(')')
	}
	if !msg.Date.IsZero() {
		b.WriteString(` "` + msg.Date.Format(appendDate) + `"`)
	}
	b.WriteByte(' ')
	return b.String(), nil
}

// mailboxArg encodes a mailbox name as go-imap does: INBOX as an atom,
// any other name in modified UTF-7 (RFC 3501 5.1.3) as a quoted string.
func mailboxArg(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return quote(utf7Encode(name))
}

// quote returns s as a quoted string; s must hold no CR, LF or NUL.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// quotable reports whether s can be sent as a quoted string.
func quotable(s string) bool {
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

// maxLine bounds one response line (without literals).
const maxLine = 64 << 10

// readResponse reads one response, following any literal ("{n}" or
// "~{n}" at a line end) to the response's real end, and returns its first
// line without CRLF; literal contents are skipped.
func readResponse(r *bufio.Reader) (string, error) {
	resp, err := readWhole(r, false, nil)
	if err != nil {
		return "", err
	}
	return resp.lines[0], nil
}

// A response is one whole server response, split at its literals:
// lines[i] is the text before literal i (ending with its "{n}" or
// "~{n}" marker), and the last line is the text after the last literal.
type response struct {
	lines []string
	lits  [][]byte // the literals' contents, when kept
}

// litChunk is how much of a kept literal is read between two calls of
// readWhole's tick.
const litChunk = 64 << 10

// readWhole reads one response with its literals, keeping their contents
// when keep is set. tick, when not nil, is called before each line and
// each litChunk of a literal is read (to push a read deadline on).
func readWhole(r *bufio.Reader, keep bool, tick func()) (response, error) {
	var resp response
	for {
		if tick != nil {
			tick()
		}
		line, err := readLine(r)
		if err != nil {
			return response{}, err
		}
		resp.lines = append(resp.lines, line)
		n, ok := literalAtEnd(line)
		if !ok {
			return resp, nil
		}
		var lit []byte
		if keep {
			lit, err = readLiteral(r, n, tick)
		} else {
			_, err = r.Discard(int(n))
		}
		if err != nil {
			return response{}, err
		}
		resp.lits = append(resp.lits, lit)
	}
}

// readLiteral reads n octets, growing its buffer as they arrive (n comes
// from the server and is not trusted for the allocation).
func readLiteral(r *bufio.Reader, n int64, tick func()) ([]byte, error) {
	var buf bytes.Buffer
	for int64(buf.Len()) < n {
		if tick != nil {
			tick()
		}
		if _, err := io.CopyN(&buf, r, min(litChunk, n-int64(buf.Len()))); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		part, err := r.ReadSlice('\n')
		b = append(b, part...)
		if err == nil {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if err != bufio.ErrBufferFull || len(b) > maxLine {
			if err == bufio.ErrBufferFull {
				err = errors.New("response line too long")
			}
			return "", err
		}
	}
}

// literalAtEnd returns n when line ends with "{n}", "{n+}" or "~{n}".
func literalAtEnd(line string) (int64, bool) {
	n, _, ok := literalMarker(line)
	return n, ok
}

// literalMarker returns n when line ends with a literal's marker, "{n}",
// "{n+}" or "~{n}", and where the marker starts ("~" included).
func literalMarker(line string) (n int64, at int, ok bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(line[i+1:len(line)-1], "+"), 10, 64)
	if err != nil || n < 0 || n >= 1<<31 {
		return 0, 0, false
	}
	if i > 0 && line[i-1] == '~' {
		i--
	}
	return n, i, true
}

// A status is a parsed status response: "tag OK [CODE args] text".
type status struct {
	tag, kind  string // kind: OK, NO, BAD, BYE, PREAUTH, or "" when not a status
	code, args string
	text       string
}

func parseStatus(line string) status {
	var s status
	s.tag, line, _ = strings.Cut(line, " ")
	s.kind, line, _ = strings.Cut(line, " ")
	s.kind = strings.ToUpper(s.kind)
	if strings.HasPrefix(line, "[") {
		if end := strings.IndexByte(line, ']'); end > 0 {
			s.code, s.args, _ = strings.Cut(line[1:end], " ")
			s.code = strings.ToUpper(s.code)
			line = strings.TrimPrefix(line[end+1:], " ")
		}
	}
	s.text = line
	return s
}

// err returns nil for OK and an *imap.Error for NO, BAD and BYE, so that
// classify and hasCode work on it as on go-imap's errors.
func (s status) err() error {
	if s.kind == "OK" {
		return nil
	}
	typ := imap.StatusResponseTypeNo
	switch s.kind {
	case "BAD":
		typ = imap.StatusResponseTypeBad
	case "BYE":
		typ = imap.StatusResponseTypeBye
	}
	return &imap.Error{Type: typ, Code: imap.ResponseCode(s.code), Text: s.text}
}

// appendUID reads the UID of an APPENDUID code, or 0.
func (s status) appendUID() uint32 {
	if s.code != "APPENDUID" {
		return 0
	}
	_, uid, _ := strings.Cut(s.args, " ")
	n, err := strconv.ParseUint(uid, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// capsOf returns the capabilities in a CAPABILITY code or response.
func capsOf(list string) imap.CapSet {
	caps := imap.CapSet{}
	for _, c := range strings.Fields(list) {
		caps[imap.Cap(strings.ToUpper(c))] = struct{}{}
	}
	return caps
}
