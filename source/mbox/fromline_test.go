package mbox

import (
	"testing"
	"time"
)

func TestParseFromLine(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	plus2 := time.FixedZone("", 2*3600)
	tests := []struct {
		line string
		ok   bool
		want time.Time
	}{
		{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n", true, utc(2011, 7, 8, 12, 8, 34)},
		{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011\r\n", true, utc(2011, 7, 8, 12, 8, 34)},
		{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011", true, utc(2011, 7, 8, 12, 8, 34)},
		{"From - Fri Jul 08 12:08:34 2011\n", true, utc(2011, 7, 8, 12, 8, 34)},
		{"From bob@example.com Fri Jul  8 12:08:34 2011 +0200\n", true, time.Date(2011, 7, 8, 12, 8, 34, 0, plus2)},
		{"From bob@example.com Fri Jul  8 12:08:34 +0200 2011\n", true, time.Date(2011, 7, 8, 12, 8, 34, 0, plus2)},
		{"From bob Fri Jul  8 12:08:34 EST 2011\n", true, time.Date(2011, 7, 8, 12, 8, 34, 0, time.FixedZone("", -5*3600))},
		{"From bob Fri Jul  8 12:08:34 MET DST 2011\n", true, utc(2011, 7, 8, 12, 8, 34)},
		{"From bob Wed Dec  2 05:53 1992\n", true, utc(1992, 12, 2, 5, 53, 0)},
		{"From uucp Fri Jul  8 12:08:34 2011 remote from gateway\n", true, utc(2011, 7, 8, 12, 8, 34)},
		{"From bob@example.com Fri, 08 Jul 2011 12:08:34 +0200\n", true, time.Date(2011, 7, 8, 12, 8, 34, 0, plus2)},
		{"From here on we do things differently.\n", false, time.Time{}},
		{"From Monday on, the office is closed.\n", false, time.Time{}},
		{"From bob Fri Jul  8 12:08:34 2011 and more words\n", false, time.Time{}},
		{"From bob Fri Jul 32 12:08:34 2011\n", false, time.Time{}},
		{"From bob Fri Jul  8 25:08:34 2011\n", false, time.Time{}},
		{"From bob Fri Jul  8 12:08:34\n", false, time.Time{}},
		{"From Fri Jul  8 12:08:34 2011\n", false, time.Time{}},
		{">From bob Fri Jul  8 12:08:34 2011\n", false, time.Time{}},
		{"from bob Fri Jul  8 12:08:34 2011\n", false, time.Time{}},
		{"From: bob Fri Jul  8 12:08:34 2011\n", false, time.Time{}},
	}
	for _, tt := range tests {
		got, ok := parseFromLine([]byte(tt.line))
		if ok != tt.ok || ok && !got.Equal(tt.want) {
			t.Errorf("parseFromLine(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.ok)
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
