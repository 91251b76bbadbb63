package imap

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/target/imap/internal/session"
	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

// A message stored from a literal8 may be served as one over BODY[] too:
// Cyrus 3.6 answers "BODY[] ~{n}" for a message holding NUL (RFC 3516
// allows it only for BINARY[], but the octets are the stored ones). go-imap
// (beta.8) cannot parse that: it fails the FETCH with "imapwire: expected
// nstring, got "{"" and closes the connection. Fetch then reads that one
// message again on a raw connection of its own, whose reader keeps a
// literal8's octets. BINARY[] is no way out: it undoes the transfer
// encoding of a base64 or quoted-printable body, and Dovecot serves it so
// for every message, so the bytes would not be the stored message.

// lit8Error is the decoder's complaint when go-imap meets a literal8 where
// it expects an nstring: it reads the "~" as an atom that is not NIL, then
// finds the literal's "{".
const lit8Error = `imapwire: expected nstring, got "{"`

// servedLiteral8 reports whether err is go-imap failing on a literal8 in a
// FETCH answer from a server that announces BINARY (the only servers that
// may send one). The raw read that follows confirms it: it accepts only a
// literal8 (see fetchRaw).
func (t *Target) servedLiteral8(err error) bool {
	return err != nil && t.caps.Has(imap.CapBinary) && asIMAP(err) == nil && strings.Contains(err.Error(), lit8Error)
}

// fetchRaw returns the bytes of the message with that UID in folder, read
// with EXAMINE and UID FETCH uid BODY.PEEK[] on a raw connection dialed
// for this message and closed after it. The caller holds a pool slot whose
// go-imap connection died, so the connections stay within
// Options.Connections. Each line and each 64 KiB of the message must
// arrive within Options.Timeout. goErr is go-imap's failure: it is
// returned, wrapped, when the server's answer holds no literal8 for
// BODY[] (go-imap failed for another reason). A missing message or folder
// wraps ErrNotFound; failures to talk are target.Temporary; a done ctx
// yields ctx.Err().
func (t *Target) fetchRaw(ctx context.Context, folder string, uid uint32, goErr error) ([]byte, error) {
	s, err := session.Dial(ctx, t.sessionConfig())
	if err != nil {
		return nil, err
	}
	defer s.Conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = s.Conn.Close() })
	defer stop()
	tick := func() { _ = s.Conn.SetDeadline(time.Now().Add(t.opts.Timeout)) }
	body, err := fetchLiteral8(s, folder, uid, tick)
	if err == nil {
		_ = s.Conn.SetDeadline(time.Now().Add(min(logoutTimeout, t.opts.Timeout)))
		_, _ = s.Command("Z", "LOGOUT", nil) // answered by BYE: an error
	}
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, errNoLiteral8):
		return nil, fmt.Errorf("%w (read again without go-imap: %w)", goErr, err)
	case isTimeout(err):
		return nil, temporary(fmt.Errorf("%w (%v): %w", errTimeout, t.opts.Timeout, err))
	}
	return body, err
}

// isTimeout reports whether err is a deadline passing on the network.
func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// errNoLiteral8 means the raw read found BODY[] but not as a literal8.
var errNoLiteral8 = errors.New("the server sent BODY[] without a literal8")

// fetchLiteral8 selects folder read-only and reads the message with that UID.
func fetchLiteral8(s *session.Session, folder string, uid uint32, tick func()) ([]byte, error) {
	tick()
	if _, err := s.Command("E", "EXAMINE "+wire.MailboxArg(folder), nil); err != nil {
		if e := asIMAP(err); e != nil && e.Type == imap.StatusResponseTypeNo {
			return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, err
	}
	if _, err := fmt.Fprintf(s.W, "F UID FETCH %d BODY.PEEK[]\r\n", uid); err != nil {
		return nil, temporary(err)
	}
	if err := s.W.Flush(); err != nil {
		return nil, temporary(err)
	}
	var body []byte
	lit8, found := false, false
	for {
		resp, err := wire.ReadWhole(s.R, true, tick)
		if err != nil {
			return nil, temporary(fmt.Errorf("read: %w", err))
		}
		st := wire.ParseStatus(resp.Lines[0])
		switch {
		case st.Tag == "F":
			if err := st.Err(); err != nil {
				return nil, err
			}
			if !found {
				return nil, ErrNotFound
			}
			if !lit8 {
				return nil, errNoLiteral8
			}
			return body, nil
		case st.Tag == "*" && st.Kind == "BYE":
			return nil, temporary(fmt.Errorf("BYE: %s", st.Text))
		case st.Tag == "*":
			if b, l8, ok := bodyOf(resp, uid); ok {
				body, lit8, found = b, l8, true
			}
		}
	}
}

// fetchHead matches the start of a FETCH response: "* 12 FETCH (".
var fetchHead = regexp.MustCompile(`(?i)^\* \d+ FETCH \(`)

// uidItem matches the UID item of a FETCH response.
var uidItem = regexp.MustCompile(`(?i)[( ]UID (\d+)[ )]`)

// bodyOf returns the BODY[] literal of resp when resp is a FETCH response
// for uid that holds one, and whether that literal was a literal8.
func bodyOf(resp wire.Response, uid uint32) (body []byte, lit8, ok bool) {
	if !fetchHead.MatchString(resp.Lines[0]) {
		return nil, false, false
	}
	// The items outside literals: the text of every line, markers cut.
	items := make([]string, len(resp.Lines))
	at := -1
	for i, line := range resp.Lines {
		items[i] = line
		if i < len(resp.Lits) {
			_, m, _ := wire.LiteralMarker(line)
			items[i] = line[:m]
			if rest, ok := afterBody(items[i]); ok {
				// Anything between "BODY[] " and "{" is not a literal8.
				at, lit8 = i, rest == "" && line[m] == '~'
			}
		}
	}
	u := uidItem.FindStringSubmatch(strings.Join(items, " "))
	if u == nil || at < 0 || u[1] != strconv.FormatUint(uint64(uid), 10) {
		return nil, false, false
	}
	return resp.Lits[at], lit8, true
}

// afterBody returns what follows the last "BODY[] " item name in text.
func afterBody(text string) (string, bool) {
	i := strings.LastIndex(strings.ToUpper(text), "BODY[] ")
	if i < 1 || (text[i-1] != ' ' && text[i-1] != '(') {
		return "", false
	}
	return text[i+len("BODY[] "):], true
}
