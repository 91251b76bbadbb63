package mbox

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// FuzzReader splits any input: it must not panic, messages and
// separators must tile the input, each message's size must be what the
// reader gives, and that must match a line-by-line reference.
func FuzzReader(f *testing.F) {
	f.Add([]byte(from1 + "A: 1\n\n>From x\n>>From y\n\n" + from2 + "B: 2\n\nlast"))
	f.Add([]byte(from1 + "Content-Length: 5\n\nFrom\n\n" + from2 + "x\r\n\r\n"))
	f.Add([]byte(from1 + "\r\n\r\n" + from2))
	f.Add([]byte("From x Fri Jul  8 12:08:34 2011 remote from y\n\n\n\n"))
	f.Add([]byte(""))
	f.Add([]byte(" \t\r\n"))
	f.Add([]byte("\x00\x00lost\n>>From x\n\n" + from1 + "A: 1\n\nbody\n"))
	f.Add([]byte("\n\r\n" + from1 + "A: 1\n"))
	// Thunderbird 122 to 131: bare separators, mixed with older ones,
	// with and without a blank line before; a header cut off.
	f.Add([]byte("From - Mon Jan 15 10:00:00 2024\r\nA: 1\r\n\r\nx\r\n\r\nFrom \r\nB: 2\r\nC: 3\r\n\r\ny\r\nFrom \r\nD: 4\r\nE: 5\r\n"))
	f.Add([]byte("From \r\nTo: a\r\nFrom: b\r\n\r\nbody\r\nFrom \r\nnot: a\r\nheader at all\r\n>>>From "))
	f.Add([]byte("From \r\nX: 1\r\n\r\n\r\nFrom \r\nX-Cut: a\r\n b\r\n\tc"))
	// git format-patch without blank lines; white space first; text
	// after the date; From lines inside a header.
	f.Add([]byte(" \t\n\f\nFrom 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\nFrom: a\nSubject: x\n\n-- \n2.43.0\n" +
		"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\nFrom: b\nSubject: y\n\nz\n"))
	f.Add([]byte("From bob Fri Jul  8 12:08:34 2011 via x\nFrom : old\nFrom \nA: 1\n\nFrom Fri Jul  8 12:08:34 2011\nB: 1\nC: 2\n"))
	f.Add([]byte("From \nContent-Length: 20\n\nFrom \nA: b\nC: d\n\n\n\nFrom \nE: f\nG: h\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, v := range []Variant{Detect, MBOXRD, MBOXCL2} {
			checkSplit(t, in, v)
		}
	})
}

func checkSplit(t *testing.T, in []byte, v Variant) {
	res, err := scan(context.Background(), bytes.NewReader(in), int64(len(in)), v != MBOXO && v != MBOXRD, true)
	if err != nil {
		return
	}
	if len(res.recs) == 0 && !isSpace(in) {
		t.Fatalf("no message in %q, which is not only white space", in)
	}
	mode := res.mode(v)
	at := int64(0)
	for i, r := range res.recs {
		if i == 0 && !r.junk && r.sep > 0 && isSpace(in[:r.sep]) {
			at = r.sep // white space before the first From line belongs to nothing
		}
		if r.junk {
			if i != 0 || r.sep != 0 || r.off != 0 || r.n == 0 {
				t.Fatalf("message %d: junk at %d+%d, want only a first record from offset 0", i, r.off, r.n)
			}
			at = r.n
			continue
		}
		if r.sep != at {
			t.Fatalf("message %d: separator at %d, previous message ended at %d", i, r.sep, at)
		}
		sep := in[r.sep:r.off]
		sep = sep[lineEnd(sep):]
		if i > 0 && len(sep) == len(in[r.sep:r.off]) && in[r.sep-1] != '\n' {
			t.Fatalf("message %d: separator %q has no line end first and does not start a line", i, in[r.sep:r.off])
		}
		if k, _ := classifyFrom(sep); k == notFrom {
			t.Fatalf("message %d: separator %q is no From line", i, sep)
		}
		raw := in[r.off : r.off+r.n]
		got := readSection(t, in, r, mode)
		if int64(len(got)) != r.size(mode) {
			t.Fatalf("message %d: size %d, reader gave %d bytes", i, r.size(mode), len(got))
		}
		if want := reference(raw, mode); !bytes.Equal(got, want) {
			t.Fatalf("message %d: reader gave %q, reference %q", i, got, want)
		}
		at = r.off + r.n
	}
	if res.tail != at {
		t.Fatalf("tail at %d, last message ended at %d", res.tail, at)
	}
	if rest := in[at:]; len(rest) != lineEnd(rest) && !(len(res.recs) == 0 && isSpace(rest)) {
		t.Fatalf("after the last message: %q, want at most a line end", rest)
	}
}

func readSection(t *testing.T, in []byte, r record, mode quoteMode) []byte {
	t.Helper()
	l := loc{file: &fileInfo{mode: mode}, off: r.off, n: r.n, sum: r.sum}
	got, err := io.ReadAll(sectionReader(bytes.NewReader(in), l))
	if err != nil {
		t.Fatalf("reading message at %d: %v", r.off, err)
	}
	return got
}

// reference unquotes and converts raw line by line, as documented.
func reference(raw []byte, mode quoteMode) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if mode.unquotes(line) {
			line = line[1:]
		}
		out = append(out, line...)
	}
	var crlf []byte
	for i, c := range out {
		if c == '\n' && (i == 0 || out[i-1] != '\r') {
			crlf = append(crlf, '\r')
		}
		crlf = append(crlf, c)
	}
	return crlf
}
