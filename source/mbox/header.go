package mbox

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/internal/mailtime"
)

// maxHeader bounds the header bytes kept for parsing flags, dates and
// Content-Length; fields past it are not seen (the message is still
// copied whole).
const maxHeader = 64 << 10

// Mozilla's X-Mozilla-Status bits (nsMsgMessageFlags).
const (
	mozRead     = 0x0001
	mozReplied  = 0x0002
	mozMarked   = 0x0004
	mozExpunged = 0x0008
)

// headerInfo is what List takes from a message's header.
type headerInfo struct {
	flags         []string
	deleted       bool  // \Deleted is among flags
	expunged      bool  // X-Mozilla-Status 0x0008, with Options.Mozilla
	contentLength int64 // -1 when absent, malformed or given twice
	hasDate       bool  // a parseable Date: or Received: date
}

// parseHeader reads header, the raw header block (LF or CRLF lines).
func parseHeader(header []byte, mozilla bool) headerInfo {
	h := headerInfo{contentLength: -1}
	h.flags, h.expunged = Flags(header, mozilla)
	for _, f := range h.flags {
		h.deleted = h.deleted || f == `\Deleted`
	}
	clSeen := false
	eachField(header, func(name, value string) {
		switch strings.ToLower(name) {
		case "content-length":
			h.contentLength = contentLength(value, clSeen)
			clSeen = true
		case "date":
			h.hasDate = h.hasDate || validDate(value)
		case "received":
			if i := strings.LastIndexByte(value, ';'); i >= 0 {
				h.hasDate = h.hasDate || validDate(value[i+1:])
			}
		}
	})
	return h
}

// contentLength parses a Content-Length value; a second field or a value
// that is not a plain decimal number gives -1.
func contentLength(v string, again bool) int64 {
	v = strings.TrimSpace(v)
	if again || v == "" || len(v) > 15 || strings.Trim(v, "0123456789") != "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func validDate(v string) bool {
	_, err := mailtime.ParseDate(strings.TrimSpace(v))
	return err == nil
}

// Flags returns the IMAP flags a message's header gives, and whether the
// message is expunged. header is the raw header block, LF or CRLF lines,
// folded or not; letters and bits not listed here are ignored.
//
//   - Status: R gives \Seen (O, "old", gives nothing).
//   - X-Status: A \Answered, F \Flagged, T \Draft, D \Deleted.
//
// When mozilla is true (Thunderbird's stores) these count as well:
//
//   - X-Mozilla-Status, hexadecimal: 0x0001 \Seen, 0x0002 \Answered,
//     0x0004 \Flagged, 0x0008 expunged (deleted, waiting for compaction:
//     such a message must not be migrated).
//   - X-Mozilla-Keys: space-separated keywords ($label1, ...), kept as
//     they are; a word that is not a valid IMAP atom is left out.
//
// System flags come first in a fixed order, then keywords in header
// order, without duplicates. Flags is safe for concurrent use.
func Flags(header []byte, mozilla bool) (flags []string, expunged bool) {
	var sys [5]bool // \Seen \Answered \Flagged \Draft \Deleted
	var keys []string
	eachField(header, func(name, value string) {
		switch strings.ToLower(name) {
		case "status":
			sys[0] = sys[0] || strings.ContainsRune(value, 'R')
		case "x-status":
			sys[1] = sys[1] || strings.ContainsRune(value, 'A')
			sys[2] = sys[2] || strings.ContainsRune(value, 'F')
			sys[3] = sys[3] || strings.ContainsRune(value, 'T')
			sys[4] = sys[4] || strings.ContainsRune(value, 'D')
		case "x-mozilla-status":
			if mozilla {
				bits := mozStatus(value)
				sys[0] = sys[0] || bits&mozRead != 0
				sys[1] = sys[1] || bits&mozReplied != 0
				sys[2] = sys[2] || bits&mozMarked != 0
				expunged = expunged || bits&mozExpunged != 0
			}
		case "x-mozilla-keys":
			if mozilla {
				keys = append(keys, strings.Fields(value)...)
			}
		}
	})
	for i, name := range []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, `\Deleted`} {
		if sys[i] {
			flags = append(flags, name)
		}
	}
	return appendKeywords(flags, keys), expunged
}

// mozStatus parses X-Mozilla-Status; a malformed value gives 0.
func mozStatus(v string) uint64 {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 32)
	if err != nil {
		return 0
	}
	return n
}

// appendKeywords appends the valid, new keywords of keys to flags.
func appendKeywords(flags, keys []string) []string {
	seen := map[string]bool{}
	for _, k := range keys {
		if !seen[k] && isAtom(k) {
			seen[k] = true
			flags = append(flags, k)
		}
	}
	return flags
}

// isAtom reports whether k can be an IMAP keyword (RFC 3501 flag-keyword).
func isAtom(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// eachField calls fn with each field of header, unfolded, in order. A
// line that is neither a field nor a continuation is skipped.
func eachField(header []byte, fn func(name, value string)) {
	var name string
	var value []byte
	flush := func() {
		if name != "" {
			fn(name, string(value))
		}
		name, value = "", value[:0]
	}
	for len(header) > 0 {
		line := header
		if i := bytes.IndexByte(header, '\n'); i >= 0 {
			line, header = header[:i], header[i+1:]
		} else {
			header = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if name != "" {
				value = append(value, line...)
			}
			continue
		}
		flush()
		if i := bytes.IndexByte(line, ':'); i > 0 {
			name = strings.TrimSpace(string(line[:i]))
			value = append(value, line[i+1:]...)
		}
	}
	flush()
}
