package wire

import (
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// A Status is a parsed response line: "tag OK [CODE args] text".
type Status struct {
	Tag, Kind  string // Kind: OK, NO, BAD, BYE, PREAUTH, CAPABILITY, …
	Code, Args string
	Text       string
}

// ParseStatus splits a response's first line.
func ParseStatus(line string) Status {
	var s Status
	s.Tag, line, _ = strings.Cut(line, " ")
	s.Kind, line, _ = strings.Cut(line, " ")
	s.Kind = strings.ToUpper(s.Kind)
	if strings.HasPrefix(line, "[") {
		if end := strings.IndexByte(line, ']'); end > 0 {
			s.Code, s.Args, _ = strings.Cut(line[1:end], " ")
			s.Code = strings.ToUpper(s.Code)
			line = strings.TrimPrefix(line[end+1:], " ")
		}
	}
	s.Text = line
	return s
}

// Err returns nil for OK and an *imap.Error for NO, BAD and BYE, so that
// the error classes work on it as on go-imap's errors.
func (s Status) Err() error {
	if s.Kind == "OK" {
		return nil
	}
	typ := imap.StatusResponseTypeNo
	switch s.Kind {
	case "BAD":
		typ = imap.StatusResponseTypeBad
	case "BYE":
		typ = imap.StatusResponseTypeBye
	}
	return &imap.Error{Type: typ, Code: imap.ResponseCode(s.Code), Text: s.Text}
}

// AppendUID reads the UID of an APPENDUID code, or 0.
func (s Status) AppendUID() uint32 {
	if s.Code != "APPENDUID" {
		return 0
	}
	_, uid, _ := strings.Cut(s.Args, " ")
	n, err := strconv.ParseUint(uid, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// CapsOf returns the capabilities in a CAPABILITY code or response.
func CapsOf(list string) imap.CapSet {
	caps := imap.CapSet{}
	for _, c := range strings.Fields(list) {
		caps[imap.Cap(strings.ToUpper(c))] = struct{}{}
	}
	return caps
}
