package mbox

import (
	"slices"
	"testing"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		header   string
		mozilla  bool
		want     []string
		expunged bool
	}{
		{"Subject: x\n", false, nil, false},
		{"Status: RO\n", false, []string{`\Seen`}, false},
		{"Status: O\n", false, nil, false},
		{"Status: R\r\nX-Status: AF\r\n", false, []string{`\Seen`, `\Answered`, `\Flagged`}, false},
		{"X-Status: TD\n", false, []string{`\Draft`, `\Deleted`}, false},
		{"x-status:\n A\n", false, []string{`\Answered`}, false},
		{"X-Mozilla-Status: 0005\nX-Mozilla-Keys: $label1 work \n", false, nil, false},
		{"X-Mozilla-Status: 0005\n", true, []string{`\Seen`, `\Flagged`}, false},
		{"X-Mozilla-Status: 0002\n", true, []string{`\Answered`}, false},
		{"X-Mozilla-Status: 0009\n", true, []string{`\Seen`}, true},
		{"X-Mozilla-Status: zz\n", true, nil, false},
		{"Status: R\nX-Mozilla-Status: 0001\n", true, []string{`\Seen`}, false},
		{"X-Mozilla-Keys: $label1 work $label1 bad(word                \n", true, []string{"$label1", "work"}, false},
	}
	for _, tt := range tests {
		got, exp := Flags([]byte(tt.header), tt.mozilla)
		if !slices.Equal(got, tt.want) || exp != tt.expunged {
			t.Errorf("Flags(%q, %v) = %q, %v; want %q, %v", tt.header, tt.mozilla, got, exp, tt.want, tt.expunged)
		}
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		header  string
		cl      int64
		hasDate bool
	}{
		{"Subject: x\n", -1, false},
		{"Content-Length: 42\n", 42, false},
		{"Content-Length:  7 \r\n", 7, false},
		{"Content-Length: 4x\n", -1, false},
		{"Content-Length: 4\nContent-Length: 4\n", -1, false},
		{"Date: Fri, 08 Jul 2011 12:08:34 +0200\n", -1, true},
		{"Date: yesterday\n", -1, false},
		{"Received: from a by b;\n Fri, 08 Jul 2011 12:08:34 +0200 (CEST)\n", -1, true},
		{"Received: from a by b\n", -1, false},
	}
	for _, tt := range tests {
		h := parseHeader([]byte(tt.header), false)
		if h.contentLength != tt.cl || h.hasDate != tt.hasDate {
			t.Errorf("parseHeader(%q) = Content-Length %d, date %v; want %d, %v", tt.header, h.contentLength, h.hasDate, tt.cl, tt.hasDate)
		}
	}
}
