package mbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"time"
)

var (
	errNotMbox = errors.New(`not an mbox file: no line starting "From " begins a message in it`)
	errChanged = errors.New("file changed while it was read")
)

// A record is one message as a scan found it.
type record struct {
	sep      int64     // offset of its separator: a line end (not before the first message), then the From line
	off      int64     // offset of its first byte, after the From line
	n        int64     // length in the file
	sum      [8]byte   // first bytes of the SHA-256 of those n bytes
	crlf     int64     // length with CRLF line ends, before unquoting
	q1, q2   int64     // lines starting ">From " and ">>+From "
	fromDate time.Time // the date of the From line
	hdr      headerInfo
	// junk marks the bytes before the first separator of a file that
	// does not start with one: no message (its start is lost), but mail
	// the run must report rather than drop.
	junk bool
}

// size returns the length Open gives under m.
func (r *record) size(m quoteMode) int64 {
	switch m {
	case quoteOne:
		return r.crlf - r.q1
	case quoteAll:
		return r.crlf - r.q1 - r.q2
	}
	return r.crlf
}

// A scanResult is one file's messages and the evidence of its variant.
type scanResult struct {
	recs []record
	tail int64 // where the bytes after the last message start (a final line end); the file's size when none
	rd   bool  // some line starts ">>From ", ">>>From ", ...: mboxrd
	cl2  bool  // a body bounded by Content-Length holds an unquoted "From " line: mboxcl2
}

// mode returns the unquoting for the file, forced by v or detected.
func (r *scanResult) mode(v Variant) quoteMode {
	switch v {
	case MBOXO, MBOXCL:
		return quoteOne
	case MBOXRD:
		return quoteAll
	case MBOXCL2:
		return quoteNone
	}
	switch {
	case r.cl2:
		return quoteNone
	case r.rd:
		return quoteAll
	}
	return quoteOne
}

// scanner splits one file into messages in a single pass.
type scanner struct {
	lr      *lineReader
	ra      io.ReaderAt // for the look-aheads: Content-Length, header
	size    int64
	useCL   bool // trust a consistent Content-Length
	mozilla bool
	probe   bool // stop at the first separator: only whether the file is an mbox is asked
	res     scanResult

	// The message being read.
	cur      record
	h        hash.Hash
	prevCR   bool
	inHeader bool
	header   []byte
	hdrFull  bool
	peek     []byte
	ahead    []byte // for headerAhead, allocated when first needed
	text     bool   // the current record holds more than line ends
	blank    bool   // the last line read was a blank line
}

// aheadMax bounds the bytes read after a possible separator to see
// whether a header follows it; aheadFirst are read first, which is
// enough for most headers.
const (
	aheadFirst = 1 << 10
	aheadMax   = 16 << 10
)

// scan splits the size bytes of ra into messages. It returns errNotMbox
// when they hold neither only white space nor a line that starts a
// message, errChanged when they change under it, ctx.Err() when ctx ends,
// and read errors.
func scan(ctx context.Context, ra io.ReaderAt, size int64, useCL, mozilla bool) (*scanResult, error) {
	s := newScanner(ra, size, useCL, mozilla)
	return &s.res, s.run(ctx)
}

func newScanner(ra io.ReaderAt, size int64, useCL, mozilla bool) *scanner {
	return &scanner{
		lr: newLineReader(io.NewSectionReader(ra, 0, size), 0, size),
		ra: ra, size: size, useCL: useCL, mozilla: mozilla,
		h: sha256.New(), peek: make([]byte, 2+maxFromLine),
	}
}

func (s *scanner) rest() int64 { return s.size - s.lr.pos }

func (s *scanner) run(ctx context.Context) error {
	next, found, empty, err := s.start()
	if err != nil || empty {
		return err
	}
	if !found {
		if next, err = s.junk(); err != nil {
			return err
		}
	}
	if s.probe {
		return nil
	}
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.begin(next)
		if next, more, err = s.message(); err != nil {
			return err
		}
		s.finish()
	}
	return nil
}

// start reads the white space the file starts with (it belongs to
// nothing) and the line after it, and reports whether that line is a
// separator, or whether the file holds only white space (empty).
func (s *scanner) start() (sep separator, found, empty bool, err error) {
	for {
		pos := s.lr.pos
		chunk, start, err := s.lr.next(s.rest())
		if err == io.EOF {
			return separator{}, false, true, nil
		}
		if err != nil {
			return separator{}, false, false, err
		}
		if !isSpace(chunk) {
			date, ok := s.separatorAt(chunk, start, pos, atStart)
			return separator{off: pos, date: date}, ok, false, nil
		}
	}
}

// startsMbox reports whether the size bytes of ra are empty, only white
// space, or start (after white space) with a separator.
func startsMbox(ra io.ReaderAt, size int64) (bool, error) {
	_, found, empty, err := newScanner(ra, size, false, false).start()
	return found || empty, err
}

// junk reads a file that does not start with a separator from its start
// to its first separator, which it returns, and records those bytes as a
// junk record unless they are only line ends (that loses nothing; other
// white space before a first line that starts a message is skipped by
// start).
// Without any separator the file is not an mbox: errNotMbox.
func (s *scanner) junk() (separator, error) {
	s.lr = newLineReader(io.NewSectionReader(s.ra, 0, s.size), 0, s.size)
	s.begin(separator{})
	s.cur.junk = true
	next, more, err := s.message()
	if err != nil {
		return separator{}, err
	}
	if !more {
		return separator{}, errNotMbox
	}
	if s.text && !s.probe {
		s.finish()
	}
	return next, nil
}

// A separator is where a message's separator starts, and its date.
type separator struct {
	off  int64
	date time.Time
}

// A position is where a line that may be a separator stands.
type position int

const (
	inText     position = iota // after a line that is not blank
	afterBlank                 // after a blank line
	atStart                    // first in the file, after white space only
)

// separatorAt reports whether chunk, read at pos, is a separator line
// standing at where, and returns its date (see the package
// documentation): a full From line after a blank line, or any form but
// fromOther first in the file, is one; any other line starting "From "
// is one if a header follows it.
func (s *scanner) separatorAt(chunk []byte, start bool, pos int64, where position) (time.Time, bool) {
	if !start {
		return time.Time{}, false
	}
	kind, date := classifyFrom(chunk)
	end := pos + int64(len(chunk))
	if kind == notFrom || chunk[len(chunk)-1] != '\n' && end != s.size {
		return time.Time{}, false
	}
	if where == atStart && kind != fromOther || where == afterBlank && kind == fromFull {
		return date, true
	}
	return date, s.headerAt(end)
}

// headerAt reports whether the bytes at off look like the start of a
// header (see headerAhead). It looks at aheadFirst bytes, and at
// aheadMax only when those do not tell.
func (s *scanner) headerAt(off int64) bool {
	if s.ahead == nil {
		s.ahead = make([]byte, aheadMax)
	}
	rest := s.size - off
	for _, n := range []int64{aheadFirst, aheadMax} {
		buf := s.ahead[:min(n, rest)]
		k, _ := s.ra.ReadAt(buf, off) // a read error is the line reader's to report
		ok, short := headerAhead(buf[:k])
		if !short || k < len(buf) || int64(k) == rest {
			return ok
		}
	}
	return true // the first field line is longer than aheadMax: benefit of the doubt
}

func (s *scanner) begin(sep separator) {
	s.cur = record{sep: sep.off, off: s.lr.pos, fromDate: sep.date}
	s.h.Reset()
	s.prevCR = false
	s.inHeader = true
	s.header = s.header[:0]
	s.hdrFull = false
	s.text = false
	s.blank = false
}

func (s *scanner) finish() {
	if s.inHeader {
		s.endHeader()
	}
	copy(s.cur.sum[:], s.h.Sum(nil))
	s.res.recs = append(s.res.recs, s.cur)
}

// message reads the current message up to the next separator, which it
// consumes and returns, or to the end of the file (more is false). A
// blank line followed by a separator or by the end of the file is not
// part of the message. A line of the header is never a separator (but
// the junk before the first separator has no header).
func (s *scanner) message() (next separator, more bool, err error) {
	var pending []byte // a blank line not yet known to be message or separator
	for {
		pos := s.lr.pos
		chunk, start, err := s.lr.next(s.rest())
		if err == io.EOF {
			s.res.tail = pos - int64(len(pending))
			return separator{}, false, nil
		}
		if err != nil {
			return separator{}, false, err
		}
		if !s.inHeader || s.cur.junk {
			where := inText
			if s.blank {
				where = afterBlank
			}
			if d, ok := s.separatorAt(chunk, start, pos, where); ok {
				return separator{off: pos - int64(len(pending)), date: d}, true, nil
			}
		}
		if pending != nil {
			s.add(pending, true)
			pending = nil
		}
		s.blank = start && isBlank(chunk)
		if !s.blank {
			s.add(chunk, start)
			continue
		}
		if s.inHeader && !s.cur.junk {
			s.endHeader()
			if end, ok := s.clEnd(); ok {
				s.add(chunk, true)
				return s.clBody(end)
			}
		}
		pending = blankLine(chunk)
	}
}

// blankLine returns a copy of a blank chunk that outlives the reader's
// buffer.
func blankLine(chunk []byte) []byte {
	if len(chunk) == 1 {
		return []byte("\n")
	}
	return []byte("\r\n")
}

// add appends a chunk to the current message.
func (s *scanner) add(chunk []byte, start bool) {
	s.h.Write(chunk)
	s.cur.n += int64(len(chunk))
	s.cur.crlf += int64(len(chunk))
	if bareLF(chunk, s.prevCR) {
		s.cur.crlf++
	}
	s.prevCR = chunk[len(chunk)-1] == '\r'
	s.text = s.text || !start || !isBlank(chunk)
	if start && !s.cur.junk {
		switch d := quoteDepth(chunk); {
		case d == 1:
			s.cur.q1++
		case d >= 2:
			s.cur.q2++
			s.res.rd = true
		}
	}
	if s.inHeader && !s.hdrFull {
		s.keepHeader(chunk)
	}
}

// keepHeader keeps chunk for parsing, up to maxHeader bytes of whole
// lines.
func (s *scanner) keepHeader(chunk []byte) {
	if len(s.header)+len(chunk) <= maxHeader {
		s.header = append(s.header, chunk...)
		return
	}
	s.hdrFull = true
	s.header = s.header[:bytes.LastIndexByte(s.header, '\n')+1]
}

func (s *scanner) endHeader() {
	s.inHeader = false
	s.cur.hdr = parseHeader(s.header, s.mozilla)
}

// clEnd returns where the body ends by the header's Content-Length, if
// it is to be trusted: the body, starting at the current position, then
// ends at the end of the file, or just before a line end followed by the
// end of the file or by a line starting "From " (not "From :").
func (s *scanner) clEnd() (int64, bool) {
	cl := s.cur.hdr.contentLength
	if !s.useCL || s.cur.junk || cl < 0 || cl > s.rest() {
		return 0, false
	}
	end := s.lr.pos + cl
	return end, s.fitsAt(end)
}

func (s *scanner) fitsAt(end int64) bool {
	if end == s.size {
		return true
	}
	buf := s.peek[:min(int64(len(s.peek)), s.size-end)]
	if n, _ := s.ra.ReadAt(buf, end); n < len(buf) {
		return false
	}
	le := lineEnd(buf)
	if le == 0 {
		return false
	}
	line := buf[le:]
	if len(line) == 0 {
		return end+int64(le) == s.size
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i+1]
	} else if end+int64(le+len(line)) < s.size {
		return false
	}
	k, _ := classifyFrom(line)
	return k != notFrom
}

// lineEnd returns the length of the LF or CRLF b starts with, or 0.
func lineEnd(b []byte) int {
	switch {
	case len(b) > 0 && b[0] == '\n':
		return 1
	case len(b) > 1 && b[0] == '\r' && b[1] == '\n':
		return 2
	}
	return 0
}

// clBody reads a body that Content-Length bounds at end, then the
// separator after it, which fitsAt has checked.
func (s *scanner) clBody(end int64) (separator, bool, error) {
	for s.lr.pos < end {
		chunk, start, err := s.lr.next(end - s.lr.pos)
		if err == io.EOF {
			err = errChanged
		}
		if err != nil {
			return separator{}, false, err
		}
		if start && bytes.HasPrefix(chunk, fromPrefix) {
			s.res.cl2 = true
		}
		s.add(chunk, start)
	}
	sep := s.lr.pos
	s.res.tail = sep
	for i := 0; ; i++ {
		chunk, _, err := s.lr.next(s.rest())
		switch {
		case err == io.EOF:
			return separator{}, false, nil
		case err != nil:
			return separator{}, false, err
		case i == 0 && lineEnd(chunk) == len(chunk):
			continue
		}
		if k, d := classifyFrom(chunk); k != notFrom && i == 1 {
			return separator{off: sep, date: d}, true, nil
		}
		return separator{}, false, errChanged
	}
}
