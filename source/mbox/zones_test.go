package mbox

import (
	"testing"
	"time"
)

// TestFromLineObsoleteZones checks that the zone names of RFC 5322
// section 4.3 in a From line's date, asctime or RFC 5322 form, keep their
// offsets, military letters and other names reading as UTC (-0000).
func TestFromLineObsoleteZones(t *testing.T) {
	for _, tt := range []struct {
		zone string
		off  int
	}{
		{"UT", 0}, {"GMT", 0}, {"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
		{"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}, {"Z", 0}, {"A", 0}, {"N", 0}, {"CET", 0},
	} {
		want := time.Date(2024, 1, 15, 10, 0, 0, 0, time.FixedZone("", tt.off*3600))
		for _, line := range []string{
			"From a@example.org Mon Jan 15 10:00:00 " + tt.zone + " 2024\n",
			"From a@example.org Mon Jan 15 10:00:00 2024 " + tt.zone + "\n",
			"From a@example.org Mon, 15 Jan 2024 10:00:00 " + tt.zone + "\n",
		} {
			got, ok := parseFromLine([]byte(line))
			_, gotOff := got.Zone()
			if !ok || !got.Equal(want) || gotOff != tt.off*3600 {
				t.Errorf("parseFromLine(%q) = %v, %v, want %v", line, got, ok, want)
			}
		}
	}
}
