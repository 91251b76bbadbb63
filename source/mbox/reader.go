package mbox

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/mailferry/mailferry/source"
)

// msgReader streams one message from its file: the stored bytes with the
// file's unquoting undone and bare LF turned into CRLF, nothing else. At
// the end it checks the bytes against the hash List saw.
type msgReader struct {
	f      *os.File
	loc    loc
	lr     *lineReader
	h      hash.Hash
	n      int64 // stored bytes read
	prevCR bool
	buf    []byte // converted bytes; out is what is left of them
	out    []byte
	err    error // sticky; io.EOF once verified
	once   sync.Once
	closed func(*msgReader)
}

func newMsgReader(f *os.File, l loc, closed func(*msgReader)) *msgReader {
	r := sectionReader(f, l)
	r.f, r.closed = f, closed
	return r
}

// sectionReader returns a reader of the message at l in ra, without a
// file to close.
func sectionReader(ra io.ReaderAt, l loc) *msgReader {
	sec := io.NewSectionReader(ra, l.off, l.n)
	return &msgReader{loc: l, lr: newLineReader(sec, l.off, l.n), h: sha256.New()}
}

func (r *msgReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 && r.err == nil {
		r.err = r.fill()
	}
	if len(r.out) > 0 {
		n := copy(p, r.out)
		r.out = r.out[n:]
		return n, nil
	}
	return 0, r.err
}

// fill converts the next chunk into out.
func (r *msgReader) fill() error {
	chunk, start, err := r.lr.next(r.loc.n - r.n)
	if err == io.EOF {
		return r.verify()
	}
	if err != nil {
		return fmt.Errorf("mbox %s: %w", r.loc.file.path, err)
	}
	r.h.Write(chunk)
	r.n += int64(len(chunk))
	lf := bareLF(chunk, r.prevCR)
	r.prevCR = chunk[len(chunk)-1] == '\r'
	if start && r.loc.file.mode.unquotes(chunk) {
		chunk = chunk[1:]
	}
	r.buf = append(r.buf[:0], chunk...)
	if lf {
		r.buf = append(r.buf[:len(r.buf)-1], '\r', '\n')
	}
	r.out = r.buf
	return nil
}

// verify returns io.EOF if the message read is the one List saw, else an
// error wrapping source.ErrNotFound.
func (r *msgReader) verify() error {
	var sum [8]byte
	copy(sum[:], r.h.Sum(nil))
	if r.n != r.loc.n || !bytes.Equal(sum[:], r.loc.sum[:]) {
		return fmt.Errorf("mbox %s: message at offset %d changed since it was listed: %w",
			r.loc.file.path, r.loc.off, source.ErrNotFound)
	}
	return io.EOF
}

// Close closes the file; it is safe to call more than once, and
// concurrently with Source.Close.
func (r *msgReader) Close() error {
	var err error
	r.once.Do(func() {
		err = r.f.Close()
		r.closed(r)
	})
	return err
}
