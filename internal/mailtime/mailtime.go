package mailtime

import (
	"net/mail"
	"strings"
	"time"
)

// obsZones are the zone names of RFC 5322 section 4.3 with their offsets.
var obsZones = map[string]string{
	"UT": "+0000", "GMT": "+0000",
	"EST": "-0500", "EDT": "-0400",
	"CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600",
	"PST": "-0800", "PDT": "-0700",
	// Not in the RFC, but it is what every writer of it means.
	"UTC": "+0000",
}

// unknownZone is RFC 5322's "-0000": the time is in UTC and says nothing
// about the writer's local zone. Go reads it as UTC.
const unknownZone = "-0000"

// ParseDate parses a date-time as net/mail.ParseDate does, except for an
// alphabetic zone, whatever its case:
//
//   - UT, GMT (and UTC) are +0000; EST -0500, EDT -0400, CST -0600,
//     CDT -0500, MST -0700, MDT -0600, PST -0800, PDT -0700;
//   - a military letter (A-I, K-Z) is -0000, as section 4.3 says: RFC 822
//     gave them with the wrong sign, so their meaning is unknown;
//   - any other name ("CET", "JST", "MEZ") is -0000 too: section 4.3 says
//     a zone whose meaning is not known is to be taken as -0000.
//
// Comments after the zone are ignored. A numeric zone is read as it is,
// and an error is returned when the date does not parse.
func ParseDate(s string) (time.Time, error) {
	head, zone := splitZone(s)
	if zone == "" {
		return mail.ParseDate(s)
	}
	off, ok := obsZones[strings.ToUpper(zone)]
	if !ok {
		off = unknownZone
	}
	return mail.ParseDate(head + " " + off)
}

// splitZone returns the date-time up to its time of day and the
// alphabetic zone that follows it, when one does: letters after white
// space, followed by the end, white space or a comment (what follows the
// zone is left out, as net/mail leaves out what follows a numeric zone).
// zone is "" when the time of day is not followed by such a word.
func splitZone(s string) (head, zone string) {
	s = strings.ReplaceAll(s, "\r\n", "")
	end := timeOfDayEnd(s)
	if end < 0 {
		return "", ""
	}
	rest := strings.TrimLeft(s[end:], " \t")
	if len(rest) == len(s[end:]) {
		return "", "" // no white space after the time
	}
	n := 0
	for n < len(rest) && isLetter(rest[n]) {
		n++
	}
	if n == 0 || n < len(rest) && rest[n] != ' ' && rest[n] != '\t' && rest[n] != '(' {
		return "", ""
	}
	return s[:end], rest[:n]
}

// timeOfDayEnd returns the end of the first word of s holding a ':'
// (the time of day, "09:55" or "09:55:06"), or -1.
func timeOfDayEnd(s string) int {
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return -1
	}
	end := strings.IndexAny(s[colon:], " \t(")
	if end < 0 {
		return -1
	}
	return colon + end
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
