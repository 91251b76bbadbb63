package crlf

import (
	"io"
	"strings"
	"testing"
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
