package pop3

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDotReader(t *testing.T) {
	for _, tc := range []struct{ name, wire, want string }{
		{"empty", ".\r\n", ""},
		{"plain", "a\r\nb\r\n.\r\n", "a\r\nb\r\n"},
		{"stuffed", "..\r\n...\r\n..x\r\n.\r\n", ".\r\n..\r\n.x\r\n"},
		{"unstuffed dot kept once removed", ".x\r\n.\r\n", "x\r\n"},
		{"LF terminator", "a\n.\n", "a\n"},
		{"bare LF kept", "a\nb\r\nc\n.\r\n", "a\nb\r\nc\n"},
		{"dot CR not end", "..\rx\r\n.\r\n", ".\rx\r\n"},
		{"dot CR unstuffed", ".\rx\r\n.\r\n", "\rx\r\n"},
		{"NUL and 8-bit", "\x00\xff\r\n.\x00\r\n.\r\n", "\x00\xff\r\n\x00\r\n"},
		{"dot inside line", "a.\r\n.b.\r\n.\r\n", "a.\r\nb.\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{16, 4096} {
				r := bufio.NewReaderSize(strings.NewReader(tc.wire+"+OK next"), size)
				got, err := io.ReadAll(newDotReader(r))
				if err != nil || string(got) != tc.want {
					t.Errorf("buffer %d: read %q, %v; want %q, nil", size, got, err, tc.want)
				}
				rest, _ := io.ReadAll(r)
				if string(rest) != "+OK next" {
					t.Errorf("buffer %d: left %q after the reply, want %q", size, rest, "+OK next")
				}
			}
		})
	}
}

// TestDotReaderLongLines streams lines far longer than the buffer
// through a reader that returns one byte at a time.
func TestDotReaderLongLines(t *testing.T) {
	for _, n := range []int{10_000, 1_000_000} {
		line := strings.Repeat("x.", n/2)
		wire := "." + line + "\r\n" + line + "\n.\r\n"
		want := line + "\r\n" + line + "\n"
		src := io.Reader(strings.NewReader(wire))
		if n <= 10_000 {
			src = iotest.OneByteReader(src)
		}
		r := bufio.NewReaderSize(src, 16)
		d := newDotReader(r)
		var got strings.Builder
		buf := make([]byte, 1000)
		for {
			k, err := d.Read(buf)
			if k > r.Size() {
				t.Fatalf("Read returned %d bytes, more than the buffer's %d", k, r.Size())
			}
			got.WriteString(string(buf[:k]))
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read() = %v", err)
			}
		}
		if got.String() != want {
			t.Errorf("%d-character lines: got %d bytes, want %d", n, got.Len(), len(want))
		}
	}
}

func TestDotReaderTruncated(t *testing.T) {
	for _, wire := range []string{"", "abc", "abc\r\n", "abc\r\n.", ".\r", "..x", "x\r\n.\r"} {
		r := bufio.NewReaderSize(strings.NewReader(wire), 16)
		_, err := io.ReadAll(newDotReader(r))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("reply %q: got %v, want io.ErrUnexpectedEOF", wire, err)
		}
	}
}

func TestDotReaderErrorIsSticky(t *testing.T) {
	boom := errors.New("boom")
	r := bufio.NewReaderSize(io.MultiReader(strings.NewReader("abc\r\n"), iotest.ErrReader(boom)), 16)
	d := newDotReader(r)
	got, err := io.ReadAll(d)
	if string(got) != "abc\r\n" || !errors.Is(err, boom) {
		t.Fatalf("ReadAll() = %q, %v; want %q, boom", got, err, "abc\r\n")
	}
	if _, err := d.Read(make([]byte, 10)); !errors.Is(err, boom) {
		t.Errorf("Read() after the error = %v, want boom again", err)
	}
}
