// Package mailtime parses the dates of mail header fields (Date:, the
// date after the ";" of a Received: field) as RFC 5322 section 3.3 and
// its obsolete syntax (section 4.3) define them, the same way on every
// machine.
//
// net/mail.ParseDate alone gets the obsolete zone names wrong: it hands
// them to time.Parse, which gives a name it does not know offset +0000
// unless the machine's own time zone (TZ) happens to use that name, so
// "EST" reads as +0000 on a machine in UTC, as -0500 in New York, and
// "CST" as +0800 in Shanghai; it refuses the military letters ("Z", "A")
// and zone names in lower case. ParseDate reads them all by the RFC.
package mailtime
