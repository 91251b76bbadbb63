package mbox

import (
	"strings"
	"testing"
	"time"
)

func TestClassifyFrom(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	plus2 := time.FixedZone("", 2*3600)
	jul8 := utc(2011, 7, 8, 12, 8, 34)
	tests := []struct {
		line string
		kind fromKind
		want time.Time
	}{
		{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n", fromFull, jul8},
		{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\r\n", fromFull, jul8},
		{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011", fromFull, jul8},
		{"From - Fri Jul 08 12:08:34 2011\n", fromFull, jul8},
		{"From bob@example.com Fri Jul  8 12:08:34 2011 +0200\n", fromFull, time.Date(2011, 7, 8, 12, 8, 34, 0, plus2)},
		{"From bob@example.com Fri Jul  8 12:08:34 +0200 2011\n", fromFull, time.Date(2011, 7, 8, 12, 8, 34, 0, plus2)},
		{"From bob Fri Jul  8 12:08:34 EST 2011\n", fromFull, time.Date(2011, 7, 8, 12, 8, 34, 0, time.FixedZone("", -5*3600))},
		{"From bob Fri Jul  8 12:08:34 MET DST 2011\n", fromFull, jul8},
		{"From bob Wed Dec  2 05:53 1992\n", fromFull, utc(1992, 12, 2, 5, 53, 0)},
		{"From uucp Fri Jul  8 12:08:34 2011 remote from gateway\n", fromFull, jul8},
		{"From bob@example.com Fri, 08 Jul 2011 12:08:34 +0200\n", fromFull, time.Date(2011, 7, 8, 12, 8, 34, 0, plus2)},
		// git format-patch writes the commit's hash and a fixed date.
		{"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n", fromFull, utc(2001, 9, 17, 0, 0, 0)},
		// A date with text after it, or without a sender.
		{"From bob Fri Jul  8 12:08:34 2011 and more words\n", fromDated, jul8},
		{"From bob@example.com Fri Jul  8 12:08:34 2011 +0200 (CEST)\n", fromDated, time.Date(2011, 7, 8, 12, 8, 34, 0, plus2)},
		{"From Fri Jul  8 12:08:34 2011\n", fromDated, jul8},
		// Thunderbird 122 to 131.
		{"From \r\n", fromBare, time.Time{}},
		{"From \n", fromBare, time.Time{}},
		{"From ", fromBare, time.Time{}},
		{"From  \t \r\n", fromBare, time.Time{}},
		// Other lines starting "From ".
		{"From here on we do things differently.\n", fromOther, time.Time{}},
		{"From Monday on, the office is closed.\n", fromOther, time.Time{}},
		{"From bob Fri Jul 32 12:08:34 2011\n", fromOther, time.Time{}},
		{"From bob Fri Jul  8 25:08:34 2011\n", fromOther, time.Time{}},
		{"From bob Fri Jul  8 12:08:34\n", fromOther, time.Time{}},
		{"From - \r\n", fromOther, time.Time{}},
		{"From a b c d Fri Jul  8 12:08:34 2011\n", fromOther, time.Time{}},
		// Not candidates at all.
		{"From : bob@example.com\n", notFrom, time.Time{}},
		{"From \t: bob@example.com\n", notFrom, time.Time{}},
		{">From bob Fri Jul  8 12:08:34 2011\n", notFrom, time.Time{}},
		{"from bob Fri Jul  8 12:08:34 2011\n", notFrom, time.Time{}},
		{"From: bob Fri Jul  8 12:08:34 2011\n", notFrom, time.Time{}},
		{"From\r\n", notFrom, time.Time{}},
		{" From \r\n", notFrom, time.Time{}},
		{"From " + strings.Repeat("x", maxFromLine) + "\n", notFrom, time.Time{}},
	}
	for _, tt := range tests {
		kind, got := classifyFrom([]byte(tt.line))
		if kind != tt.kind || !got.Equal(tt.want) {
			t.Errorf("classifyFrom(%.60q) = %v, %v; want %v, %v", tt.line, kind, got, tt.kind, tt.want)
		}
		if _, ok := parseFromLine([]byte(tt.line)); ok != (tt.kind == fromFull) {
			t.Errorf("parseFromLine(%.60q) = %v, want %v", tt.line, ok, tt.kind == fromFull)
		}
	}
}

func TestHeaderAhead(t *testing.T) {
	tests := []struct {
		after string
		want  bool
	}{
		{"To: bob@invalid\r\nFrom: alice@invalid\r\n\r\nbody\r\n", true},
		{"Received: by x;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\n   (folded)\r\nMessage-ID: <a@b>\r\n", true},
		{"X-Only-One: field\r\n", true},                // the file ends: benefit of the doubt
		{"X-Folded: a\r\n b\r\n\tc\r\n", true},         // likewise, after folded lines
		{"Subject: " + strings.Repeat("x", 100), true}, // the part looked at ends in the first field
		{"", false},               // nothing after the line
		{"\r\nbody\r\n", false},   // a blank line: no header
		{"Here\r\nTo\r\n", false}, // no colon
		{"But: it is not really.\r\nThe last line.\r\n", false}, // the second line is text
		{"To: bob\r\n\r\nbody\r\n", false},                      // one field, then the body
		{": no name\r\nTo: x\r\n", false},
		{"Two words: not a field\r\nTo: x\r\n", false},
		{"To", false}, // no colon before the end
	}
	for _, tt := range tests {
		if got, _ := headerAhead([]byte(tt.after)); got != tt.want {
			t.Errorf("headerAhead(%.60q) = %v, want %v", tt.after, got, tt.want)
		}
	}
}

func TestFolderName(t *testing.T) {
	tests := map[string]string{
		"Inbox":                   "Inbox",
		"Inbox.sbd/Work":          "Inbox/Work",
		"Inbox.sbd/Work.sbd/2024": "Inbox/Work/2024",
		"Envoyés":                 "Envoyés",
		"archive/2019.mbox":       "archive/2019",
		"old.MBX":                 "old",
		"Projects v1.2":           "Projects v1.2",
		"Work.mbox/mbox":          "Work",
		"Lists.mbox/Go.mbox/mbox": "Lists/Go",
		".mbox":                   ".mbox",
	}
	for rel, want := range tests {
		if got := folderName(rel); got != want {
			t.Errorf("folderName(%q) = %q, want %q", rel, got, want)
		}
	}
}
