package imap

import (
	"regexp"
	"strconv"
	"time"

	"github.com/mailferry/mailferry/target/imap/internal/session"
)

// Microsoft 365 (Exchange Online) throttles IMAP with answers that carry
// no response code, only text:
//
//   - "User is authenticated but not connected." (and "Server
//     Unavailable. 15"): the session is broken on the server's side; the
//     connection is dropped, a new one opened and the command sent again.
//   - "Suggested Backoff Time: N milliseconds": the server asks the
//     client to wait N ms before the next command.
//
// Both are NO answers: the message was not stored, so sending it again
// cannot duplicate it.
var backoffText = regexp.MustCompile(`(?i)suggested backoff time:\s*(\d+)\s*milliseconds`)

// maxBackoff bounds one wait a server asks for; maxBackoffs bounds the
// waits for one message before its error goes back, temporary, to the
// engine (which retries the message later).
const (
	maxBackoff  = time.Hour
	maxBackoffs = 3
)

// notConnected reports whether err is a NO saying the session is broken
// on the server's side.
func notConnected(err error) bool {
	e := asIMAP(err)
	return e != nil && session.NotConnected(e.Text)
}

// suggestedBackoff returns the wait a NO asks for, at most maxBackoff.
func suggestedBackoff(err error) (time.Duration, bool) {
	e := asIMAP(err)
	if e == nil {
		return 0, false
	}
	m := backoffText.FindStringSubmatch(e.Text)
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || ms > int64(maxBackoff/time.Millisecond) {
		return maxBackoff, true
	}
	return time.Duration(ms) * time.Millisecond, true
}
