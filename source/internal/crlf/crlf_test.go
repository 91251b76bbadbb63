package crlf

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSmallReads(t *testing.T) {
	cases := map[string]string{
		"a\nb\r\nc\rd\n\n": "a\r\nb\r\nc\rd\r\n\r\n",
		"":                 "",
		"\n":               "\r\n",
		"\r":               "\r",
		"x\r\n":            "x\r\n",
	}
	for in, want := range cases {
		for _, size := range []int{1, 2, 3, 4096} {
			r := NewReader(strings.NewReader(in), nil)
			var out []byte
			buf := make([]byte, size)
			for {
				n, err := r.Read(buf)
				out = append(out, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if string(out) != want {
				t.Errorf("read %q in %d-byte reads: got %q, want %q", in, size, out, want)
			}
		}
	}
}

func TestEstimate(t *testing.T) {
	for _, tc := range []struct{ in, want int64 }{{0, 0}, {-1, 0}, {1, 1}, {31, 31}, {32, 33}, {64000, 66000}} {
		if got := Estimate(tc.in); got != tc.want {
			t.Errorf("Estimate(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
	// Lines of 32 bytes with bare LF: the estimate is exact.
	line := strings.Repeat("x", 31) + "\n"
	in := strings.Repeat(line, 100)
	out, _ := io.ReadAll(NewReader(strings.NewReader(in), nil))
	if got := Estimate(int64(len(in))); got != int64(len(out)) {
		t.Errorf("Estimate(%d) = %d, want %d for 32-byte lines", len(in), got, len(out))
	}
}

// reference is the conversion byte by byte: the specification Reader
// must match.
func reference(in []byte) []byte {
	var out []byte
	prevCR := false
	for _, c := range in {
		if c == '\n' && !prevCR {
			out = append(out, '\r')
		}
		out = append(out, c)
		prevCR = c == '\r'
	}
	return out
}

// oneByteReader gives one byte a Read, the worst case for chunking.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// readAllIn reads r in reads of size bytes.
func readAllIn(t testing.TB, r io.Reader, size int) []byte {
	var out []byte
	buf := make([]byte, size)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkSame fails t unless every way of reading in gives reference(in).
func checkSame(t testing.TB, in []byte) {
	want := reference(in)
	for _, size := range []int{1, 2, 7, 4096, bufSize - 1, bufSize, 3 * bufSize} {
		if got := readAllIn(t, NewReader(bytes.NewReader(in), nil), size); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes in %d-byte reads: output differs from the byte-by-byte conversion", len(in), size)
		}
	}
	if got := readAllIn(t, NewReader(oneByteReader{bytes.NewReader(in)}, nil), 5); !bytes.Equal(got, want) {
		t.Fatalf("%d bytes from a 1-byte source: output differs", len(in))
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, NewReader(bytes.NewReader(in), nil)) // through WriteTo
	if err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("%d bytes through WriteTo: n=%d err=%v, output differs: %v", len(in), n, err, !bytes.Equal(buf.Bytes(), want))
	}
	var mw bytes.Buffer // io.MultiWriter has no ReadFrom: as migrate reads
	if _, err := io.Copy(io.MultiWriter(&mw), NewReader(oneByteReader{bytes.NewReader(in)}, nil)); err != nil || !bytes.Equal(mw.Bytes(), want) {
		t.Fatalf("%d bytes through WriteTo from a 1-byte source: err=%v, output differs", len(in), err)
	}
}

// TestSameBytes compares Reader with the byte-by-byte conversion on
// mail-like and adversarial inputs, across the chunk boundaries.
func TestSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\r\n\n\r\nab c")
	var inputs [][]byte
	for _, n := range []int{0, 1, 2, 3, 100, bufSize - 1, bufSize, bufSize + 1, 2*bufSize + 3, 200_000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, b)
	}
	// CR last in a chunk, LF first in the next: one CRLF, nothing added.
	edge := bytes.Repeat([]byte("x"), bufSize-1)
	inputs = append(inputs, append(append(edge, '\r', '\n'), "tail\n"...))
	inputs = append(inputs, append(bytes.Repeat([]byte("x"), bufSize), '\n', '\n'))
	inputs = append(inputs, []byte(strings.Repeat("Subject: hi\n", 5000)), []byte(strings.Repeat("Subject: hi\r\n", 5000)))
	inputs = append(inputs, bytes.Repeat([]byte("\n"), 3*bufSize), bytes.Repeat([]byte("\r"), bufSize+5))
	for _, in := range inputs {
		checkSame(t, in)
	}
}

func TestWriteToWriteError(t *testing.T) {
	r := NewReader(strings.NewReader("a\nb\n"), nil)
	boom := errors.New("boom")
	if _, err := r.WriteTo(failWriter{boom}); !errors.Is(err, boom) {
		t.Fatalf("WriteTo = %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestReadError: an error of the source is returned after the bytes
// read before it.
func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(boom)), nil)
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) || string(got) != "a\r\nb" {
		t.Fatalf("ReadAll = %q, %v; want %q, %v", got, err, "a\r\nb", boom)
	}
}

type closeCounter struct{ n int }

func (c *closeCounter) Close() error { c.n++; return nil }

func TestCloseMidway(t *testing.T) {
	var c closeCounter
	r := NewReader(strings.NewReader(strings.Repeat("line\n", 10000)), &c)
	buf := make([]byte, 10)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil || c.n != 1 {
		t.Fatalf("Close = %v, closer called %d times", err, c.n)
	}
	if n, err := r.Read(buf); err == nil {
		t.Fatalf("Read after Close = %d, nil; want an error", n)
	}
}

func FuzzSameBytes(f *testing.F) {
	f.Add([]byte("a\nb\r\nc\rd\n\n"))
	f.Add([]byte("\r"))
	f.Fuzz(func(t *testing.T, in []byte) { checkSame(t, in) })
}

func BenchmarkReadLF(b *testing.B) {
	in := []byte(strings.Repeat("Received: from a.example by b.example with ESMTP id 1234567890\n", 400))
	b.SetBytes(int64(len(in)))
	var sink bytes.Buffer
	for b.Loop() {
		sink.Reset()
		io.Copy(io.MultiWriter(&sink), NewReader(bytes.NewReader(in), nil))
	}
}
