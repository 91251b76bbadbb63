package mailtime

import (
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// base is the wall clock of every date of the tests: 09:55:06 on
// 20 Nov 1997, read in the zone the test names.
func base(offHours int) time.Time {
	return time.Date(1997, 11, 20, 9, 55, 6, 0, time.FixedZone("", offHours*3600))
}

// zoneTests are the zones of RFC 5322 section 4.3 and what they mean.
var zoneTests = []struct {
	zone string
	off  int // hours
}{
	{"UT", 0}, {"GMT", 0}, {"UTC", 0},
	{"EST", -5}, {"EDT", -4}, {"CST", -6}, {"CDT", -5},
	{"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7},
	// Lower case: ABNF strings are case-insensitive.
	{"est", -5}, {"Pdt", -7}, {"gmt", 0},
	// Names the RFC does not list: -0000, not the machine's idea of them.
	{"CET", 0}, {"JST", 0}, {"MEZ", 0}, {"BST", 0},
}

func TestObsoleteZones(t *testing.T) {
	for _, tt := range zoneTests {
		for _, form := range []string{"Thu, 20 Nov 1997 09:55:06 %s", "20 Nov 1997 09:55:06 %s", "Thu, 20 Nov 97 09:55:06 %s",
			"Thu, 20 Nov 1997 09:55:06 %s (comment)", "Thu, 20 Nov 1997 09:55:06 %s (nested (comment) \\) )"} {
			in := fmt.Sprintf(form, tt.zone)
			checkDate(t, in, base(tt.off))
		}
	}
}

func TestMilitaryZones(t *testing.T) {
	for c := 'A'; c <= 'Z'; c++ {
		for _, z := range []string{string(c), strings.ToLower(string(c))} {
			checkDate(t, "Thu, 20 Nov 1997 09:55:06 "+z, base(0))
		}
	}
}

func TestNumericZonesUnchanged(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"Thu, 20 Nov 1997 09:55:06 -0500", base(-5)},
		{"Thu, 20 Nov 1997 09:55:06 -0500 (EST)", base(-5)},
		{"Thu, 20 Nov 1997 09:55:06 +0100 (CET)", base(1)},
		{"Thu, 20 Nov 1997 09:55:06 +0100 CET", base(1)}, // the number wins over a name
		{"Thu, 20 Nov 1997 09:55:06 -0000", base(0)},
		{"Thu, 20 Nov 1997 09:55 +0530", time.Date(1997, 11, 20, 9, 55, 0, 0, time.FixedZone("", 5*3600+1800))},
		{"Thu, 20 Nov 1997\r\n 09:55:06 EST", base(-5)}, // folded
		{"Thu, 20 Nov 1997 09:55:06 EST(Eastern)", base(-5)},
		{"Thu, 20 Nov 1997 09:55:06 MET DST", base(0)}, // what follows the zone is left out
		{"Thu, 20 Nov 1997 09:55:06   PDT  ", base(-7)},
	} {
		checkDate(t, tt.in, tt.want)
	}
}

func TestBadDates(t *testing.T) {
	for _, in := range []string{"", "EST", "Thu, 20 Nov 1997 09:55:06", "Thu, 20 Nov 1997 EST", "garbage (EST)",
		"Thu, 20 Nov 1997 09:55:06 (EST", "yesterday"} {
		if got, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", in, got)
		}
	}
}

// checkDate wants ParseDate(in) to be the instant want in want's offset.
func checkDate(t *testing.T, in string, want time.Time) {
	t.Helper()
	got, err := ParseDate(in)
	if err != nil {
		t.Errorf("ParseDate(%q) = %v", in, err)
		return
	}
	_, gotOff := got.Zone()
	_, wantOff := want.Zone()
	if !got.Equal(want) || gotOff != wantOff {
		t.Errorf("ParseDate(%q) = %v, want %v", in, got, want)
	}
}

// TestSameInEveryTimeZone runs the zone tests again in a child whose TZ
// uses the names differently (New York: EST/EDT; Shanghai: CST is
// +0800): the result must not depend on the machine.
func TestSameInEveryTimeZone(t *testing.T) {
	if os.Getenv("MAILTIME_CHILD") != "" {
		return
	}
	for _, tz := range []string{"America/New_York", "Asia/Shanghai", "Europe/London"} {
		if _, err := time.LoadLocation(tz); err != nil {
			t.Fatalf("no zone data for %s: %v", tz, err)
		}
		cmd := exec.Command(os.Args[0], "-test.run", "^(TestObsoleteZones|TestMilitaryZones|TestNumericZonesUnchanged)$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TZ="+tz, "MAILTIME_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("TZ=%s: %v\n%s", tz, err, out)
		}
	}
}

// FuzzParseDate checks that ParseDate never panics and reads every date
// without an alphabetic zone exactly as net/mail does.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Thu, 20 Nov 1997 09:55:06 EST", "Thu, 20 Nov 1997 09:55:06 -0500 (EST)",
		"20 Nov 97 09:55 Z", "Thu, 20 Nov 1997 09:55:06 ((", ":", " :  a(", "1 Jan 2000 00:00 +0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDate(s)
		if _, zone := splitZone(s); zone != "" {
			return
		}
		want, werr := mail.ParseDate(s)
		if (err == nil) != (werr == nil) || !got.Equal(want) {
			t.Fatalf("ParseDate(%q) = %v, %v; net/mail gives %v, %v", s, got, err, want, werr)
		}
	})
}
