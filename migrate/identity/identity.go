package identity

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"hash"
	"strings"
	"time"

	"github.com/mailferry/mailferry/internal/mailtime"
)

// MaxHeader bounds how much of a header block is kept for parsing. Bytes of
// a longer header still count in the hashes; fields past the bound are not
// looked at.
const MaxHeader = 4 << 20

// An ID is the identity of one message.
type ID struct {
	// Key is "<message-id>" or "sha256:<hex>".
	Key string
	// MessageID is the Message-ID without brackets, "" when the message
	// has none that parses.
	MessageID string
	// BodyHash is the hex SHA-256 of the bytes after the header block,
	// line endings normalised to CRLF and NUL read as 0x80 (see crlfHash).
	BodyHash string
	// ContentHash is "sha256:<hex>" of the whole message as described in
	// the package comment; it is Key when MessageID is "".
	ContentHash string
	// Date is the internal date: the newest Received: date, else Date:,
	// else the zero time.
	Date time.Time
	// Size is the number of bytes written.
	Size int64
	// ServerSize is the size an IMAP server reports for a stored copy
	// (RFC822.SIZE): Size with line ends counted as CRLF and CRs before
	// an LF as one (see crlfHash).
	ServerSize int64
	// Full is "sha256:<hex>" of the whole message as a server gives it
	// back (see crlfHash), nothing left out: for a byte-for-byte
	// comparison. Only a Hasher from NewFull sets it.
	Full string
	// Munged is the identity of the message as a server stores it that
	// replaces every byte of the header block >= 0x80 with 'X' (Cyrus
	// IMAP's default munge8bit; see Munge). It is the zero Form when the
	// header block has no such byte: the message is its own munged form.
	// Munging keeps the size.
	Munged Form
}

// A Form is the identity of another form of a message (ID.Munged).
type Form struct {
	// Key, MessageID, BodyHash, ContentHash and Full are as in ID, for
	// that form; Full only from NewFull.
	Key, MessageID, BodyHash, ContentHash, Full string
}

// A Hasher computes an ID from a message's bytes written to it in any
// number of pieces. The zero value is not ready; use New.
type Hasher struct {
	inBody bool
	header []byte // raw header block, up to MaxHeader
	line   []byte // the header line being assembled, up to MaxHeader
	long   bool   // the current line outgrew MaxHeader and is hashed as it comes
	skip   bool   // the current header field is left out of the content hash
	first  bool   // no header line finished yet
	bodyH  crlfHash
	contH  crlfHash
	allN   crlfHash // counts (with NewFull: hashes) the whole message as a server stores it
	size   int64
	// Once the header block shows a byte >= 0x80 (eight), contM and allM
	// are contH and allN of the munged form: copies of them taken just
	// before that byte, fed munged header bytes and the same body since.
	eight      bool
	contM      crlfHash
	allM       crlfHash
	mungeSpace []byte
}

// New returns a Hasher ready for a message's first byte.
func New() *Hasher {
	return &Hasher{bodyH: crlfHash{h: sha256.New()}, contH: crlfHash{h: sha256.New()}, first: true}
}

// NewFull returns a Hasher that also hashes the whole message (ID.Full
// and ID.Munged.Full), at the cost of one more hash of every byte.
func NewFull() *Hasher {
	h := New()
	h.allN.h = sha256.New()
	return h
}

// Write consumes p. It never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	h.size += int64(len(p))
	rest := p
	for !h.inBody && len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			h.appendLine(rest)
			return len(p), nil
		}
		h.appendLine(rest[:i+1])
		rest = rest[i+1:]
		h.endHeaderLine()
	}
	if len(rest) > 0 {
		h.writeBody(rest)
	}
	return len(p), nil
}

// appendLine takes b, a piece of the header block (every header byte
// comes through here once, the blank line that ends the block too).
func (h *Hasher) appendLine(b []byte) {
	if !h.eight && has8bit(b) {
		// The munged form parts from the message here; what was hashed
		// so far is the same in both.
		h.eight = true
		h.contM, h.allM = h.contH.clone(), h.allN.clone()
	}
	h.allN.write(b)
	if h.eight {
		h.allM.write(h.munge(b))
	}
	if n := MaxHeader - len(h.header); n > 0 {
		h.header = append(h.header, b[:min(len(b), n)]...)
	}
	switch {
	case h.long:
		if !h.skip {
			h.contHead(b)
		}
	case len(h.line)+len(b) <= MaxHeader:
		h.line = append(h.line, b...)
	default:
		// An absurdly long header line: decide on its start, then hash it
		// as it comes instead of holding it.
		h.long = true
		h.startField(append(h.line, b...))
		if !h.skip {
			h.contHead(h.line)
			h.contHead(b)
		}
		h.line = h.line[:0]
	}
}

// contHead hashes header bytes into the content hash, and munged into
// the munged form's once that exists.
func (h *Hasher) contHead(b []byte) {
	h.contH.write(b)
	if h.eight {
		h.contM.write(h.munge(b))
	}
}

// munge returns b with every byte >= 0x80 replaced by 'X', in a buffer
// of h's that the next call reuses (b itself when it has no such byte).
func (h *Hasher) munge(b []byte) []byte {
	if !has8bit(b) {
		return b
	}
	h.mungeSpace = append(h.mungeSpace[:0], b...)
	mungeBytes(h.mungeSpace)
	return h.mungeSpace
}

func has8bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func mungeBytes(b []byte) {
	for i, c := range b {
		if c >= 0x80 {
			b[i] = 'X'
		}
	}
}

// Munge returns a copy of msg as a server stores it that replaces every
// byte >= 0x80 of the header block (up to the first empty line) with
// 'X': Cyrus IMAP with its default "munge8bit: yes". The body is kept.
func Munge(msg []byte) []byte {
	out := bytes.Clone(msg)
	for rest := out; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		if isBlank(line) {
			break
		}
		mungeBytes(line)
		rest = rest[len(line):]
	}
	return out
}

// startField sets h.skip for a header line that begins with start.
func (h *Hasher) startField(start []byte) {
	if start[0] != ' ' && start[0] != '\t' {
		h.skip = leftOut(start, h.first)
	}
	h.first = false
}

// endHeaderLine is called with a complete line (ending in '\n') in h.line.
func (h *Hasher) endHeaderLine() {
	line := h.line
	h.line = h.line[:0]
	if h.long {
		h.long = false
		return
	}
	if isBlank(line) {
		h.inBody = true
		h.contHead([]byte("\r\n"))
		return
	}
	h.startField(line)
	if !h.skip {
		h.contHead(line)
	}
}

func isBlank(line []byte) bool {
	// CRs before the LF count as one, as everywhere in this package: a
	// server serves a stored CR LF as CR CR LF (courier-pop, popa3d), and
	// Dovecot stores CR CR LF as CR LF.
	return len(bytes.TrimLeft(line, "\r")) == 1 && line[len(line)-1] == '\n'
}

// leftOut reports whether a header field starting on line is one that local
// clients add and the content hash ignores.
func leftOut(line []byte, first bool) bool {
	if first && bytes.HasPrefix(line, []byte("From ")) {
		return true
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false
	}
	name := strings.ToLower(strings.TrimRight(string(line[:colon]), " \t"))
	switch name {
	case "x-mozilla-status", "x-mozilla-status2", "x-mozilla-keys", "status",
		"x-status", "x-uidl", "content-length", "lines":
		return true
	}
	return false
}

func (h *Hasher) writeBody(b []byte) {
	h.bodyH.write(b)
	h.contH.write(b)
	h.allN.write(b)
	if h.eight {
		h.contM.write(b)
		h.allM.write(b)
	}
}

// crlfHash hashes what is written to it, across any split of the input,
// as IMAP servers give a stored message back: every line ends in CRLF
// (a bare LF, and CRs before an LF, as CR LF: Dovecot stores CR CR LF as
// CR LF) and NUL reads as 0x80 (IMAP cannot send NUL in a literal;
// Dovecot serves it so). A copy on the server then hashes as its source
// message does. A lone CR (not before an LF) is kept.
type crlfHash struct {
	h   hash.Hash // nil: only count
	n   int64     // bytes hashed (or counted)
	crs int       // CRs not hashed yet: they end a line if an LF follows
}

func (c *crlfHash) out(b []byte) {
	c.n += int64(len(b))
	if c.h != nil {
		c.h.Write(b)
	}
}

var (
	crlfBytes = []byte("\r\n")
	nulBytes  = []byte{0x80}
	crBytes   = bytes.Repeat([]byte{'\r'}, 256)
)

func (c *crlfHash) write(b []byte) {
	if bytes.IndexByte(b, 0) >= 0 {
		c.writeSlow(b)
		return
	}
	if c.crs > 0 {
		// CRs held back from the last write: they end a line if this
		// write goes on with (more CRs and) an LF.
		k := 0
		for k < len(b) && b[k] == '\r' {
			k++
		}
		switch {
		case k == len(b):
			c.crs += k
			return
		case b[k] == '\n':
			c.crs = 0
			c.out(crlfBytes)
			b = b[k+1:]
		default:
			c.flushCRs()
		}
	}
	// Hash runs of ordinary lines (one CR before each LF) in one piece.
	start := 0
	for pos := 0; ; {
		k := bytes.IndexByte(b[pos:], '\n')
		if k < 0 {
			break
		}
		i := pos + k
		if i > start && b[i-1] == '\r' && (i-1 == start || b[i-2] != '\r') {
			pos = i + 1
			continue
		}
		j := i // a bare LF, or CRs before it: hash up to them, then CRLF
		for j > start && b[j-1] == '\r' {
			j--
		}
		c.out(b[start:j])
		c.out(crlfBytes)
		start, pos = i+1, i+1
	}
	end := len(b) // trailing CRs are held back
	for end > start && b[end-1] == '\r' {
		end--
	}
	c.out(b[start:end])
	c.crs = len(b) - end
}

// writeSlow is write for input with NUL in it, byte class by byte class.
func (c *crlfHash) writeSlow(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n\x00")
		if i < 0 {
			c.flushCRs()
			c.out(b)
			return
		}
		if i > 0 {
			c.flushCRs()
			c.out(b[:i])
		}
		switch b[i] {
		case '\r':
			c.crs++
		case '\n':
			c.crs = 0
			c.out(crlfBytes)
		default: // NUL
			c.flushCRs()
			c.out(nulBytes)
		}
		b = b[i+1:]
	}
}

// flushCRs hashes the CRs held back: no LF followed them.
func (c *crlfHash) flushCRs() {
	for c.crs > 0 {
		n := min(c.crs, len(crBytes))
		c.out(crBytes[:n])
		c.crs -= n
	}
}

// clone returns an independent copy of c in its current state.
func (c *crlfHash) clone() crlfHash {
	d := *c
	if c.h != nil {
		st, err := c.h.(encoding.BinaryMarshaler).MarshalBinary()
		d.h = sha256.New()
		if err == nil {
			err = d.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st)
		}
		if err != nil {
			panic("identity: cannot copy a SHA-256 state: " + err.Error()) // crypto/sha256 always can
		}
	}
	return d
}

func (c *crlfHash) sum() string {
	c.flushCRs()
	return hex.EncodeToString(c.h.Sum(nil))
}

// Sum returns the identity of everything written. Call it once, after the
// last Write.
func (h *Hasher) Sum() ID {
	if !h.inBody && len(h.line) > 0 && !h.long {
		// A header block without a final line end: hash what is there.
		h.startField(h.line)
		if !h.skip {
			h.contHead(h.line)
		}
	}
	id := ID{
		BodyHash:    h.bodyH.sum(),
		ContentHash: "sha256:" + h.contH.sum(),
		Size:        h.size,
	}
	if h.allN.h != nil {
		id.Full = "sha256:" + h.allN.sum()
	}
	h.allN.flushCRs()
	id.ServerSize = h.allN.n
	if !h.inBody {
		// No header/body separator: everything is header, and two such
		// messages sharing a Message-ID must still differ by content.
		id.BodyHash = h.contH.sum()
	}
	fields := ParseHeader(h.header)
	id.MessageID = ParseMessageID(fields.Get("Message-Id"))
	id.Key = key(id.MessageID, id.ContentHash)
	id.Date = InternalDate(fields)
	if h.eight {
		id.Munged = h.munged(id.BodyHash)
	}
	return id
}

// key is the key of a message with that Message-ID ("" for none) and
// content hash.
func key(messageID, contentHash string) string {
	if messageID != "" {
		return "<" + messageID + ">"
	}
	return contentHash
}

// munged returns the identity of the munged form; bodyHash is the
// message's own, which munging keeps when there is a body.
func (h *Hasher) munged(bodyHash string) Form {
	f := Form{ContentHash: "sha256:" + h.contM.sum(), BodyHash: bodyHash}
	if !h.inBody {
		f.BodyHash = h.contM.sum()
	}
	if h.allM.h != nil {
		f.Full = "sha256:" + h.allM.sum()
	}
	hd := bytes.Clone(h.header)
	mungeBytes(hd)
	f.MessageID = ParseMessageID(ParseHeader(hd).Get("Message-Id"))
	f.Key = key(f.MessageID, f.ContentHash)
	return f
}

// Of returns the identity of msg.
func Of(msg []byte) ID {
	h := New()
	h.Write(msg)
	return h.Sum()
}

// OfFull returns the identity of msg with ID.Full (see NewFull).
func OfFull(msg []byte) ID {
	h := NewFull()
	h.Write(msg)
	return h.Sum()
}

// Header holds unfolded header fields in order, names as written.
type Header []Field

// A Field is one header field, its value unfolded and trimmed.
type Field struct{ Name, Value string }

// Get returns the value of the first field named name (case-insensitive),
// or "".
func (hd Header) Get(name string) string {
	for _, f := range hd {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns the values of every field named name, in order.
func (hd Header) Values(name string) []string {
	var vs []string
	for _, f := range hd {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// ParseHeader is a tolerant parser of a raw header block: it unfolds
// continuation lines, skips lines that are not fields (an mbox "From "
// line, garbage) and never fails. A folded value is its lines' trimmed
// texts joined by single spaces, empty ones left out. Its cost is linear
// in the size of raw, however a field is folded.
func ParseHeader(raw []byte) Header {
	var hd Header
	var folded strings.Builder // the value of hd's last field, while continuation lines add to it
	unfolding := false
	endFold := func() {
		if unfolding {
			hd[len(hd)-1].Value = folded.String()
			folded.Reset()
			unfolding = false
		}
	}
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if isBlank(line) || len(line) == 0 {
			break
		}
		text := strings.TrimRight(string(line), "\r\n")
		if text == "" {
			continue // a line of CRs only ("\r\r\n", from a CRLF file converted twice): not a field
		}
		if text[0] == ' ' || text[0] == '\t' {
			if len(hd) > 0 {
				if !unfolding {
					folded.WriteString(hd[len(hd)-1].Value)
					unfolding = true
				}
				if part := strings.TrimSpace(text); part != "" {
					if folded.Len() > 0 {
						folded.WriteByte(' ')
					}
					folded.WriteString(part)
				}
			}
			continue
		}
		endFold()
		name, value, ok := strings.Cut(text, ":")
		name = strings.TrimRight(name, " \t")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		hd = append(hd, Field{Name: name, Value: strings.TrimSpace(value)})
	}
	endFold()
	return hd
}

// ParseMessageID returns the ID inside the first <...> of a Message-ID
// value, or "" when the value is not a usable ID: no brackets, empty, or
// white space, a control character (NUL, which no key can hold, among
// them) or a further bracket inside.
func ParseMessageID(v string) string {
	v = strings.TrimSpace(v)
	open := strings.IndexByte(v, '<')
	if open < 0 {
		return ""
	}
	end := strings.IndexByte(v[open:], '>')
	if end < 0 {
		return ""
	}
	id := v[open+1 : open+end]
	if id == "" || strings.ContainsFunc(id, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '<' || r == '>'
	}) {
		return ""
	}
	return id
}

// InternalDate returns the date of the newest Received: field, else the
// Date: field, else the zero time. Dates are read by mailtime.ParseDate:
// obsolete zone names with their RFC 5322 offsets ("EST" is -0500), the
// same on every machine.
func InternalDate(hd Header) time.Time {
	var newest time.Time
	for _, v := range hd.Values("Received") {
		i := strings.LastIndexByte(v, ';')
		if i < 0 {
			continue
		}
		if t, err := mailtime.ParseDate(strings.TrimSpace(v[i+1:])); err == nil && t.After(newest) {
			newest = t
		}
	}
	if !newest.IsZero() {
		return newest
	}
	if t, err := mailtime.ParseDate(hd.Get("Date")); err == nil {
		return t
	}
	return time.Time{}
}

// ParseKey splits a key as ID.Key makes it: the Message-ID of a
// "<message-id>" key, or the content hash that any other key is.
func ParseKey(key string) (messageID, contentHash string) {
	if id, ok := strings.CutPrefix(key, "<"); ok {
		return strings.TrimSuffix(id, ">"), ""
	}
	return "", key
}
