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
