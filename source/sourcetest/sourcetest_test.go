package sourcetest

import "testing"

func TestCRLF(t *testing.T) {
	cases := map[string]string{"a\nb\r\nc\n": "a\r\nb\r\nc\r\n", "\n": "\r\n", "x": "x", "\r\n": "\r\n"}
	for in, want := range cases {
		if got := string(CRLF([]byte(in))); got != want {
			t.Errorf("CRLF(%q) = %q, want %q", in, got, want)
		}
		if bareLF(CRLF([]byte(in))) != -1 {
			t.Errorf("CRLF(%q) left a bare LF", in)
		}
	}
}
