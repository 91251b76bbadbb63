// Package crlf gives archive sources the line endings IMAP wants: a
// reader that turns every LF not preceded by CR into CRLF and changes no
// other byte.
package crlf

import (
	"bufio"
	"io"
)

// Reader yields the bytes of r with every LF not preceded by CR turned
// into CRLF; existing CRLF pairs and lone CRs are kept.
type Reader struct {
	r      *bufio.Reader
	c      io.Closer
	prevCR bool // the last byte read was CR
	lf     bool // an LF is owed after an inserted CR
}

// NewReader reads r; Close closes c (nil: nothing to close).
func NewReader(r io.Reader, c io.Closer) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), c: c}
}

// Read fills p with converted bytes.
func (x *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if x.lf {
			p[n], x.lf, x.prevCR = '\n', false, false
			n++
			continue
		}
		c, err := x.r.ReadByte()
		if err != nil {
			if n > 0 && err == io.EOF {
				return n, nil
			}
			return n, err
		}
		if c == '\n' && !x.prevCR {
			p[n], x.lf = '\r', true
			n++
			continue
		}
		p[n], x.prevCR = c, c == '\r'
		n++
	}
	return n, nil
}

// Close closes the underlying closer.
func (x *Reader) Close() error {
	if x.c == nil {
		return nil
	}
	return x.c.Close()
}
