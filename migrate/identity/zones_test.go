package identity

import (
	"testing"
	"time"
)

// TestInternalDateObsoleteZones checks that Date: and Received: dates
// with the zone names of RFC 5322 section 4.3 keep their offsets (Go's
// net/mail reads them as +0000 on a machine in UTC), and that the newest
// Received: date is chosen by instant.
func TestInternalDateObsoleteZones(t *testing.T) {
	at := func(h, m, off int) time.Time {
		return time.Date(2024, 1, 15, h, m, 0, 0, time.FixedZone("", off*3600))
	}
	for _, tt := range []struct {
		name, header string
		want         time.Time
	}{
		{"Date EST", "Date: Mon, 15 Jan 2024 10:00:00 EST\r\n", at(10, 0, -5)},
		{"Date EDT", "Date: Mon, 15 Jan 2024 10:00:00 EDT\r\n", at(10, 0, -4)},
		{"Date CST", "Date: Mon, 15 Jan 2024 10:00:00 CST\r\n", at(10, 0, -6)},
		{"Date CDT", "Date: Mon, 15 Jan 2024 10:00:00 CDT\r\n", at(10, 0, -5)},
		{"Date MST", "Date: Mon, 15 Jan 2024 10:00:00 MST\r\n", at(10, 0, -7)},
		{"Date MDT", "Date: Mon, 15 Jan 2024 10:00:00 MDT\r\n", at(10, 0, -6)},
		{"Date PST", "Date: Mon, 15 Jan 2024 10:00:00 PST\r\n", at(10, 0, -8)},
		{"Date PDT", "Date: Mon, 15 Jan 2024 10:00:00 PDT\r\n", at(10, 0, -7)},
		{"Date UT", "Date: Mon, 15 Jan 2024 10:00:00 UT\r\n", at(10, 0, 0)},
		{"Date GMT", "Date: Mon, 15 Jan 2024 10:00:00 GMT\r\n", at(10, 0, 0)},
		{"Date military Z", "Date: Mon, 15 Jan 2024 10:00:00 Z\r\n", at(10, 0, 0)},
		{"Date military R", "Date: Mon, 15 Jan 2024 10:00:00 R\r\n", at(10, 0, 0)},
		// 10:00 EST is 15:00 UTC, 08:00 PST 16:00 UTC: the PST one is the
		// newer (read as +0000, the EST one would be).
		{"newest Received by instant", "Received: from a; Mon, 15 Jan 2024 10:00:00 EST\r\n" +
			"Received: from b; Mon, 15 Jan 2024 08:00:00 PST\r\n" +
			"Date: Mon, 15 Jan 2024 07:00:00 EST\r\n", at(8, 0, -8)},
		{"Received in a comment zone", "Received: from a; Mon, 15 Jan 2024 10:00:00 -0500 (EST)\r\n", at(10, 0, -5)},
	} {
		got := Of([]byte(tt.header + "Subject: x\r\n\r\nbody\r\n")).Date
		_, gotOff := got.Zone()
		_, wantOff := tt.want.Zone()
		if !got.Equal(tt.want) || gotOff != wantOff {
			t.Errorf("%s: Date = %v, want %v", tt.name, got, tt.want)
		}
	}
}
