package mbox

import (
	"bufio"
	"bytes"
	"io"
)

// chunkMax is the longest chunk lineReader returns. Lines longer than it
// come in several chunks; only a line's first chunk is examined for a
// separator or quoting, in List and in Open alike, so both always agree.
const chunkMax = 64 << 10

// lineReader cuts its input into chunks: from the current position up to
// and including the first LF, but no more than chunkMax bytes or a limit
// the caller gives. A chunk's place in its line depends only on where the
// line starts, never on how reads fell.
type lineReader struct {
	r         *bufio.Reader
	pos       int64 // offset of the next byte in the file
	lineStart bool  // the next chunk starts a line
}

// newLineReader reads r, whose first byte is at offset pos in the file,
// which holds no more than size bytes from there.
func newLineReader(r io.Reader, pos, size int64) *lineReader {
	buf := int64(chunkMax)
	if size < buf {
		buf = max(size, 16)
	}
	return &lineReader{r: bufio.NewReaderSize(r, int(buf)), pos: pos, lineStart: true}
}

// next returns the next chunk, at most limit bytes, and whether it starts
// a line. The chunk is valid until the next call. At the end of the input
// (or with limit <= 0) it returns io.EOF; other errors are the reader's.
func (l *lineReader) next(limit int64) (chunk []byte, start bool, err error) {
	n := chunkMax
	if limit < int64(n) {
		n = int(limit)
	}
	if n <= 0 {
		return nil, false, io.EOF
	}
	b, _ := l.r.Peek(min(l.r.Buffered(), n))
	i := bytes.IndexByte(b, '\n')
	if i < 0 && len(b) < n {
		b, err = l.r.Peek(n)
		if err != nil && err != io.EOF || len(b) == 0 {
			if err == nil {
				err = io.EOF
			}
			return nil, false, err
		}
		i = bytes.IndexByte(b, '\n')
	}
	if i >= 0 {
		b = b[:i+1]
	}
	l.r.Discard(len(b))
	start = l.lineStart
	l.lineStart = b[len(b)-1] == '\n'
	l.pos += int64(len(b))
	return b, start, nil
}

// quoteMode is how a file's From-quoting is undone.
type quoteMode int

const (
	quoteOne  quoteMode = iota // "^>From " loses one '>' (mboxo, mboxcl)
	quoteAll                   // "^>+From " loses one '>' (mboxrd)
	quoteNone                  // nothing is unquoted (mboxcl2)
)

// quoteDepth returns the number of '>' before "From " at the start of
// chunk, or 0.
func quoteDepth(chunk []byte) int {
	i := 0
	for i < len(chunk) && chunk[i] == '>' {
		i++
	}
	if i == 0 || !bytes.HasPrefix(chunk[i:], fromPrefix) {
		return 0
	}
	return i
}

// unquotes reports whether a line starting with chunk loses a '>'.
func (m quoteMode) unquotes(chunk []byte) bool {
	switch d := quoteDepth(chunk); m {
	case quoteOne:
		return d == 1
	case quoteAll:
		return d >= 1
	}
	return false
}

// bareLF reports whether chunk ends in an LF that is not preceded by CR;
// prevCR says whether the byte before chunk was a CR.
func bareLF(chunk []byte, prevCR bool) bool {
	n := len(chunk)
	if n == 0 || chunk[n-1] != '\n' {
		return false
	}
	if n == 1 {
		return !prevCR
	}
	return chunk[n-2] != '\r'
}

func isBlank(chunk []byte) bool {
	return len(chunk) == 1 && chunk[0] == '\n' || len(chunk) == 2 && chunk[0] == '\r' && chunk[1] == '\n'
}

// isSpace reports whether chunk holds only white space: spaces, tabs,
// line ends, form feeds and vertical tabs.
func isSpace(chunk []byte) bool {
	for _, c := range chunk {
		switch c {
		case ' ', '\t', '\r', '\n', '\f', '\v':
		default:
			return false
		}
	}
	return true
}
