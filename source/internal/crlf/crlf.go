// Package crlf gives archive sources the line endings IMAP wants: a
// reader that turns every LF not preceded by CR into CRLF and changes no
// other byte.
package crlf

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// bufSize is the size of the pooled buffers: the file is read in chunks
// of this size, and WriteTo converts into a buffer twice as large (the
// most a chunk can grow to).
const bufSize = 32 << 10

var (
	inPool  = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}
	outPool = sync.Pool{New: func() any { b := make([]byte, 2*bufSize); return &b }}
)

// Reader yields the bytes of r with every LF not preceded by CR turned
// into CRLF; existing CRLF pairs and lone CRs are kept. It reads r in
// chunks through a pooled buffer, which it gives back at the end of r or
// on Close, and copies whole lines at a time.
type Reader struct {
	src    io.Reader
	c      io.Closer
	buf    *[]byte // pooled; nil before the first Read and after the end
	r, w   int     // unread bytes of the chunk: (*buf)[r:w]
	err    error   // from src, returned once the chunk is used up
	prevCR bool    // the last byte given out was CR
	lf     bool    // an LF is owed after an inserted CR
}

// NewReader reads r; Close closes c (nil: nothing to close).
func NewReader(r io.Reader, c io.Closer) *Reader {
	return &Reader{src: r, c: c}
}

// fill reads the next chunk of src; it returns false when src has
// nothing more to give (x.err is then set).
func (x *Reader) fill() bool {
	if x.err != nil {
		x.release()
		return false
	}
	if x.buf == nil {
		x.buf = inPool.Get().(*[]byte)
	}
	for range 100 {
		n, err := x.src.Read(*x.buf)
		x.r, x.w, x.err = 0, n, err
		if n > 0 {
			return true
		}
		if err != nil {
			x.release()
			return false
		}
	}
	x.err = io.ErrNoProgress
	x.release()
	return false
}

// release gives the chunk buffer back to the pool.
func (x *Reader) release() {
	if x.buf != nil {
		inPool.Put(x.buf)
		x.buf, x.r, x.w = nil, 0, 0
	}
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
		if x.r == x.w {
			if n > 0 && x.err == nil {
				return n, nil // do not wait on src for more
			}
			if !x.fill() {
				if n > 0 && x.err == io.EOF {
					return n, nil
				}
				return n, x.err
			}
		}
		chunk := (*x.buf)[x.r:x.w]
		i := bytes.IndexByte(chunk, '\n')
		switch {
		case i < 0:
			// No LF: copy what fits.
			c := copy(p[n:], chunk)
			n += c
			x.r += c
			x.prevCR = chunk[c-1] == '\r'
		case i > 0:
			// The line up to its LF.
			c := copy(p[n:], chunk[:i])
			n += c
			x.r += c
			x.prevCR = chunk[c-1] == '\r'
		case x.prevCR:
			p[n], x.prevCR = '\n', false
			n++
			x.r++
		default:
			// A bare LF: CR now, the LF next.
			p[n], x.lf = '\r', true
			n++
			x.r++
		}
	}
	return n, nil
}

// WriteTo writes the converted bytes to w in chunks of up to twice the
// buffer size, converting through a second pooled buffer: io.Copy uses
// it and allocates no buffer of its own.
func (x *Reader) WriteTo(w io.Writer) (int64, error) {
	out := outPool.Get().(*[]byte)
	defer outPool.Put(out)
	var total int64
	for {
		n, err := x.Read(*out)
		if n > 0 {
			m, werr := w.Write((*out)[:n])
			total += int64(m)
			if werr == nil && m < n {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close gives the buffer back and closes the underlying closer.
func (x *Reader) Close() error {
	x.release()
	if x.err == nil {
		x.err = errClosed
	}
	if x.c == nil {
		return nil
	}
	return x.c.Close()
}

var errClosed = errors.New("crlf: read after Close")
