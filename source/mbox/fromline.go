package mbox

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// maxFromLine bounds a separator line: a longer line is never one.
const maxFromLine = 1000

var fromPrefix = []byte("From ")

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March,
	"apr": time.April, "may": time.May, "jun": time.June,
	"jul": time.July, "aug": time.August, "sep": time.September,
	"oct": time.October, "nov": time.November, "dec": time.December,
}

// zones holds the offsets, in hours, of the zone names RFC 5322 section
// 4.3 lists; any other name reads as UTC.
var zones = map[string]int{
	"ut": 0, "utc": 0, "gmt": 0, "z": 0,
	"est": -5, "edt": -4, "cst": -6, "cdt": -5,
	"mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}

// A fromKind is what a line starting "From " can be as a separator (see
// the package documentation).
type fromKind int

const (
	notFrom   fromKind = iota // no "From " start, too long, or the obsolete header field "From :"
	fromFull                  // "From sender date", RFC 4155's full form
	fromDated                 // a date, but without a sender or with text after it
	fromBare                  // "From " and nothing else (Thunderbird 122 to 131)
	fromOther                 // any other line starting "From "
)

// classifyFrom tells what line, with or without its line end, is as a
// separator, and returns its date if it has one. The date is the asctime
// form ("Fri Jul  8 12:08:34 2011"), possibly with zone names or a
// numeric zone around the year and a "remote from host" suffix, or the
// RFC 5322 form ("Fri, 08 Jul 2011 12:08:34 +0000"). Without a zone it
// is UTC.
func classifyFrom(line []byte) (fromKind, time.Time) {
	if len(line) > maxFromLine || !bytes.HasPrefix(line, fromPrefix) {
		return notFrom, time.Time{}
	}
	rest := strings.TrimRight(string(line[len(fromPrefix):]), "\r\n")
	if t := strings.TrimLeft(rest, " \t"); t == "" {
		return fromBare, time.Time{}
	} else if t[0] == ':' {
		return notFrom, time.Time{} // "From : x", a header field in RFC 5322's obsolete syntax
	}
	f := strings.Fields(rest)
	// The sender is f[:i]: one token, rarely two or three, or none.
	for i := 0; i <= 3 && i < len(f); i++ {
		if isWeekday(f[i]) {
			if t, extra, ok := parseFromDate(f[i+1:]); ok {
				if i == 0 || extra {
					return fromDated, t
				}
				return fromFull, t
			}
		}
	}
	return fromOther, time.Time{}
}

// parseFromLine reports whether line, with or without its line end, is
// an mbox separator in the full form of RFC 4155, "From sender date",
// and returns the date.
func parseFromLine(line []byte) (time.Time, bool) {
	k, t := classifyFrom(line)
	return t, k == fromFull
}

func isWeekday(s string) bool {
	s = strings.ToLower(strings.TrimSuffix(s, ","))
	switch s {
	case "mon", "tue", "wed", "thu", "fri", "sat", "sun":
		return true
	}
	return false
}

// parseFromDate parses the tokens after the weekday; extra tells whether
// text other than "remote from host" follows the date.
func parseFromDate(f []string) (t time.Time, extra, ok bool) {
	if len(f) < 3 {
		return time.Time{}, false, false
	}
	if mon, ok := months[strings.ToLower(f[0])]; ok {
		return asctime(mon, f[1:])
	}
	return rfcDate(f)
}

// asctime parses "D HH:MM[:SS] [zones] YYYY [zone] [remote from host]".
func asctime(mon time.Month, f []string) (t time.Time, extra, ok bool) {
	day, ok1 := number(f[0], 1, 31)
	h, m, s, ok2 := clock(f[1])
	if !ok1 || !ok2 {
		return time.Time{}, false, false
	}
	f = f[2:]
	loc, i := zoneRun(f, time.UTC)
	if i >= len(f) {
		return time.Time{}, false, false
	}
	year, ok := year(f[i])
	if !ok {
		return time.Time{}, false, false
	}
	loc, j := zoneRun(f[i+1:], loc)
	return time.Date(year, mon, day, h, m, s, 0, loc), !remoteFrom(f[i+1+j:]), true
}

// rfcDate parses "D Mon YYYY HH:MM[:SS] [zone]".
func rfcDate(f []string) (t time.Time, extra, ok bool) {
	if len(f) < 4 {
		return time.Time{}, false, false
	}
	day, ok1 := number(f[0], 1, 31)
	mon, ok2 := months[strings.ToLower(f[1])]
	yr, ok3 := year(f[2])
	h, m, s, ok4 := clock(f[3])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return time.Time{}, false, false
	}
	loc, i := zoneRun(f[4:], time.UTC)
	return time.Date(yr, mon, day, h, m, s, 0, loc), !remoteFrom(f[4+i:]), true
}

// zoneRun reads the zone tokens at the start of f and returns the zone
// they give (a numeric zone wins over a name) and how many there were.
func zoneRun(f []string, loc *time.Location) (*time.Location, int) {
	i := 0
	numeric := false
	for ; i < len(f); i++ {
		z, isNum, ok := zone(f[i])
		if !ok {
			break
		}
		if isNum || !numeric {
			loc, numeric = z, numeric || isNum
		}
	}
	return loc, i
}

// zone parses "+hhmm", "-hhmm" or a zone name of 1 to 5 capital
// letters.
func zone(s string) (loc *time.Location, numeric, ok bool) {
	if len(s) == 5 && (s[0] == '+' || s[0] == '-') {
		hh, ok1 := number(s[1:3], 0, 23)
		mm, ok2 := number(s[3:5], 0, 59)
		if !ok1 || !ok2 {
			return nil, false, false
		}
		off := (hh*60 + mm) * 60
		if s[0] == '-' {
			off = -off
		}
		return time.FixedZone(s, off), true, true
	}
	if len(s) == 0 || len(s) > 5 {
		return nil, false, false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return nil, false, false
		}
	}
	h, known := zones[strings.ToLower(s)]
	if !known || h == 0 {
		return time.UTC, false, true
	}
	return time.FixedZone(strings.ToUpper(s), h*3600), false, true
}

// remoteFrom reports whether f is empty or "remote from host".
func remoteFrom(f []string) bool {
	return len(f) == 0 || len(f) == 3 && f[0] == "remote" && f[1] == "from"
}

// clock parses "HH:MM" or "HH:MM:SS".
func clock(s string) (h, m, sec int, ok bool) {
	p := strings.Split(s, ":")
	if len(p) < 2 || len(p) > 3 {
		return 0, 0, 0, false
	}
	h, ok1 := number(p[0], 0, 23)
	m, ok2 := number(p[1], 0, 59)
	ok3 := true
	if len(p) == 3 {
		sec, ok3 = number(p[2], 0, 60)
	}
	return h, m, sec, ok1 && ok2 && ok3
}

func year(s string) (int, bool) {
	if len(s) != 4 {
		return 0, false
	}
	return number(s, 1900, 9999)
}

// number parses 1 to 4 decimal digits within [lo, hi].
func number(s string, lo, hi int) (int, bool) {
	if len(s) == 0 || len(s) > 4 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= lo && n <= hi
}

// headerAhead reports whether b, the bytes after a line that may be a
// separator, start the way a message header does: a header field line
// (a name of printable ASCII characters other than ':', then ':'), its
// folded continuation lines, then a second field line. When b ends (the
// end of the file, or of the part looked at) after the first field line
// has begun, that is enough, and short tells that b ran out. This is
// Thunderbird's test for a "From " line that does not follow a blank
// line.
func headerAhead(b []byte) (ok, short bool) {
	for n := 0; n < 2; n++ {
		if len(b) == 0 {
			return n > 0, true
		}
		if !fieldName(b) {
			return false, false
		}
		for first := true; first || len(b) > 0 && (b[0] == ' ' || b[0] == '\t'); first = false {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				return true, true
			}
			b = b[i+1:]
		}
	}
	return true, false
}

// fieldName reports whether b starts with a header field name and ':'.
func fieldName(b []byte) bool {
	for i, c := range b {
		if c == ':' {
			return i > 0
		}
		if c < 33 || c > 126 {
			return false
		}
	}
	return false
}
