package imap

import (
	"strings"
	"testing"
)

func TestMessageID(t *testing.T) {
	tests := []struct{ header, want string }{
		{"Message-ID: <a@b>\r\n\r\n", "<a@b>"},
		{"Message-Id:<a@b>\r\n", "<a@b>"},
		{"MESSAGE-ID: \t <a@b> \t\r\n\r\n", "<a@b>"},
		{"Message-ID:\r\n <folded@b>\r\n\r\n", "<folded@b>"},
		{"Message-ID: <long\r\n\t@b>\r\n", "<long\t@b>"},
		{"Message-ID: <lf@b>\n\n", "<lf@b>"},
		{"Message-ID: <first@b>\r\nMessage-ID: <second@b>\r\n", "<first@b>"},
		{"Message-IDX: <no@b>\r\n", ""},
		{"\r\n", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := messageID([]byte(tt.header)); got != tt.want {
			t.Errorf("messageID(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestAppendTimeout(t *testing.T) {
	o := Options{Timeout: DefaultTimeout}
	if got, want := o.appendTimeout(64<<10*10), DefaultTimeout+10e9; got != want {
		t.Errorf("appendTimeout(640 KiB) = %v, want %v", got, want)
	}
}

// A Message-ID folded over many lines is unfolded in linear time.
func TestMessageIDManyFolds(t *testing.T) {
	var b strings.Builder
	b.WriteString("Message-ID: <a")
	for range 50000 {
		b.WriteString("\r\n b")
	}
	b.WriteString("@x>\r\n")
	allocs := testing.AllocsPerRun(3, func() { messageID([]byte(b.String())) })
	if got := messageID([]byte(b.String())); !strings.HasPrefix(got, "<a b b") || !strings.HasSuffix(got, "b@x>") {
		t.Fatalf("messageID = %.40q...", got)
	}
	if allocs > 100 {
		t.Fatalf("unfolding 50,000 lines made %.0f allocations, want a few", allocs)
	}
}
