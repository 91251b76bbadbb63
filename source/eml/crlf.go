package eml

import (
	"bufio"
	"io"
)

// crlfReader yields the bytes of r with every LF not preceded by CR
// turned into CRLF; existing CRLF pairs and lone CRs are kept.
type crlfReader struct {
	r      *bufio.Reader
	c      io.Closer
	prevCR bool // the last byte read was CR
	lf     bool // an LF is owed after an inserted CR
}

// newCRLFReader reads r and closes c.
func newCRLFReader(r io.Reader, c io.Closer) *crlfReader {
	return &crlfReader{r: bufio.NewReaderSize(r, 64<<10), c: c}
}

func (x *crlfReader) Read(p []byte) (int, error) {
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

func (x *crlfReader) Close() error { return x.c.Close() }
