package wire

import (
	"bufio"
	"strings"
	"testing"
)

func TestLiteralMarker(t *testing.T) {
	tests := []struct {
		line   string
		n      int64
		at     int
		wantOK bool
	}{
		{"A1 APPEND INBOX {12}", 12, 16, true},
		{"A1 APPEND INBOX {12+}", 12, 16, true},
		{"* 1 FETCH (BODY[] ~{5}", 5, 18, true},
		{"{0}", 0, 0, true},
		{"x {2147483647}", 2147483647, 2, true},
		{"x {2147483648}", 0, 0, false}, // over MaxLiteral
		{"x {99999999999999999999}", 0, 0, false},
		{"x {-1}", 0, 0, false},
		{"x {+1}", 0, 0, false},
		{"x {+1+}", 0, 0, false},
		{"x {}", 0, 0, false},
		{"x {+}", 0, 0, false},
		{"x {1 }", 0, 0, false},
		{"x {0x10}", 0, 0, false},
		{"x 12}", 0, 0, false},
		{"x {12} ", 0, 0, false},
		{"* OK done", 0, 0, false},
	}
	for _, tt := range tests {
		n, at, ok := LiteralMarker(tt.line)
		if ok != tt.wantOK || n != tt.n || at != tt.at {
			t.Errorf("LiteralMarker(%q) = %d, %d, %v; want %d, %d, %v", tt.line, n, at, ok, tt.n, tt.at, tt.wantOK)
		}
	}
}

func TestReadResponseSkipsLiterals(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\nA OK done\r\n"))
	if got, err := ReadResponse(r); err != nil || got != "* 1 FETCH (BODY[] {5}" {
		t.Errorf("ReadResponse() = %q, %v", got, err)
	}
	if got, err := ReadResponse(r); err != nil || got != "A OK done" {
		t.Errorf("second ReadResponse() = %q, %v", got, err)
	}
}

func TestMailboxArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"inbox", "INBOX"},
		{"Archive/2020", `"Archive/2020"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"R&D", `"R&-D"`},
		{"Entwürfe", `"Entw&APw-rfe"`},
		{"台北", `"&U,BTFw-"`},
	}
	for _, tt := range tests {
		if got := MailboxArg(tt.in); got != tt.want {
			t.Errorf("MailboxArg(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
