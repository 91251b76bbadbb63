package pop3

import (
	"strings"
	"testing"
)

// courierSubstitute is the start of what courier-pop 5.0 served in place
// of a message with an 8-bit header field to a client not in UTF-8 mode
// (captured from the server internal/couriertest runs).
const courierSubstitute = "From: Mail Delivery Subsystem <postmaster>\r\nSubject: Cannot display Unicode content\r\n" +
	"Mime-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_51-1796486905\"\r\n\r\n\r\n\r\n" +
	"--=_51-1796486905\r\nContent-Type: text/plain\r\n\r\n" +
	"This E-mail message was determined to be Unicode-formatted\r\n" +
	"but your E-mail reader does not support Unicode E-mail.\r\n"

// isSubstitute knows Courier's substitute and nothing that merely looks
// like it.
func TestIsSubstitute(t *testing.T) {
	cases := []struct {
		name string
		head string
		want bool
	}{
		{"courier", courierSubstitute, true},
		{"courier, LF", strings.ReplaceAll(courierSubstitute, "\r\n", "\n"), true},
		{"another boundary", strings.ReplaceAll(courierSubstitute, "=_51-1796486905", "=_7-1"), true},
		{"boundaries differ", strings.Replace(courierSubstitute, "--=_51-", "--=_52-", 1), false},
		{"a Date added", strings.Replace(courierSubstitute, "Mime-Version", "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\nMime-Version", 1), false},
		{"a Received first", "Received: from mx by mx; Mon, 2 Mar 2026 09:00:00 +0000\r\n" + courierSubstitute, false},
		{"postmaster with a domain", strings.Replace(courierSubstitute, "<postmaster>", "<postmaster@example.org>", 1), false},
		{"other text", strings.Replace(courierSubstitute, "was determined", "was found", 1), false},
		{"header only", courierSubstitute[:strings.Index(courierSubstitute, "\r\n\r\n")+4], false},
		{"empty", "", false},
	}
	for _, c := range cases {
		if got := isSubstitute([]byte(c.head)); got != c.want {
			t.Errorf("%s: isSubstitute() = %v, want %v", c.name, got, c.want)
		}
	}
	if len(courierSubstitute)+2*60 > substitutePeek {
		t.Errorf("substitutePeek %d is too small for the prefix with 70-byte boundaries", substitutePeek)
	}
}
