package thunderbird

import (
	"bufio"
	"bytes"
	"io"
)

// maxFromLine bounds the first line examined for an envelope line.
const maxFromLine = 1024

// envelopeReader is a message reader without the leading "From - date"
// envelope line some Thunderbird versions write at the top of maildir
// store files (a line starting "From " that is not the field "From:",
// also in its obsolete form "From :").
type envelopeReader struct {
	io.Reader
	c io.Closer
}

func (r *envelopeReader) Close() error { return r.c.Close() }

// dropEnvelope returns rc without its envelope line, if it has one.
func dropEnvelope(rc io.ReadCloser) io.ReadCloser {
	br := bufio.NewReaderSize(rc, maxFromLine)
	line, _ := br.Peek(maxFromLine) // a read error comes back from Read
	if n := envelopeLen(line); n > 0 {
		br.Discard(n)
	}
	return &envelopeReader{Reader: br, c: rc}
}

// envelopeLen returns the length of the envelope line, line end
// included, that b starts with, or 0.
func envelopeLen(b []byte) int {
	rest, ok := bytes.CutPrefix(b, []byte("From "))
	if !ok {
		return 0
	}
	if t := bytes.TrimLeft(rest, " \t"); len(t) > 0 && t[0] == ':' {
		return 0
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0 // too long or the whole file: keep it
	}
	return i + 1
}
