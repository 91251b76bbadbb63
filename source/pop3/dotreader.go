package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// dotReader streams the data of a multi-line reply (RFC 1939 section 3)
// from r. It returns the bytes exactly as sent except that one leading
// "." is removed from every line that has one, and it consumes the
// terminating line, "." followed by CRLF (or by a bare LF), then returns
// io.EOF. A line is anything up to and including "\n"; line endings,
// bare LF, bare CR, NUL and 8-bit bytes pass through unchanged.
//
// It never holds more than r's buffer: a line longer than the buffer is
// returned in pieces, so lines of any length stream. It never reads past
// the terminating line, so r stays in sync for the next reply. If the
// stream ends before the terminating line, Read returns
// io.ErrUnexpectedEOF.
type dotReader struct {
	r   *bufio.Reader
	bol bool  // the next byte starts a line
	err error // sticky: io.EOF once the terminator is consumed
}

func newDotReader(r *bufio.Reader) *dotReader {
	return &dotReader{r: r, bol: true}
}

func (d *dotReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if d.bol {
		if d.err = d.lineStart(); d.err != nil {
			return 0, d.err
		}
	}
	n, err := d.data(p)
	d.err = err
	return n, err
}

// lineStart handles the first bytes of a line: it consumes the
// terminating line (setting io.EOF) or removes one stuffed dot.
func (d *dotReader) lineStart() error {
	// A line has at least "\n" and a terminator follows it, so 2 bytes
	// always come; an error means the reply is cut short.
	b, err := d.r.Peek(2)
	if err != nil {
		return unexpectedEOF(err)
	}
	d.bol = false
	if b[0] != '.' {
		return nil
	}
	if b[1] == '\n' {
		d.r.Discard(2)
		return io.EOF
	}
	if b[1] == '\r' {
		// Peek(3) cannot block past the line: "\r" is not its end.
		if b, err = d.r.Peek(3); err != nil {
			return unexpectedEOF(err)
		}
		if b[2] == '\n' {
			d.r.Discard(3)
			return io.EOF
		}
	}
	d.r.Discard(1) // a stuffed dot
	return nil
}

// data copies bytes that need no change into p: at most what is buffered,
// and never past a line start that begins with ".", which lineStart must
// see first.
func (d *dotReader) data(p []byte) (int, error) {
	if d.r.Buffered() == 0 {
		if _, err := d.r.Peek(1); err != nil {
			return 0, unexpectedEOF(err)
		}
	}
	b, _ := d.r.Peek(min(d.r.Buffered(), len(p)))
	if i := bytes.Index(b, []byte("\n.")); i >= 0 {
		b = b[:i+1]
	}
	d.bol = b[len(b)-1] == '\n'
	n := copy(p, b)
	d.r.Discard(n)
	return n, nil
}

// unexpectedEOF turns the end of the stream, which must not come before
// the terminating line, into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
