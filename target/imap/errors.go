package imap

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap/internal/session"
)

// ErrNotFound is returned by Fetch when the folder holds no message with
// that UID.
var ErrNotFound = target.ErrNotFound

// The error classes shared with the raw connections (package session).
var (
	temporary      = session.Temporary
	isTemporary    = session.IsTemporary
	asIMAP         = session.AsIMAP
	transientCodes = session.TransientCodes
)

// hasCode reports whether err is a server response with that code.
func hasCode(err error, code imap.ResponseCode) bool {
	imapErr := asIMAP(err)
	return imapErr != nil && imapErr.Code == code
}

// isContext reports whether err comes from a done context.
func isContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// isLocal reports whether err is a definite answer found on this side:
// a missing message or a bad message body.
func isLocal(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, errBody)
}

// classify maps an error from a command to the classes of package target:
// [OVERQUOTA] wraps target.ErrOverQuota; [UNAVAILABLE], [INUSE] and
// [SERVERBUG] are temporary; any other NO or BAD wraps target.ErrRejected
// when rejected is set (APPEND: the message itself was refused) and is
// returned as it is otherwise; errors without a server answer (network,
// BYE, timeout) are temporary; context errors stay as they are.
func classify(err error, rejected bool) error {
	if err == nil || isContext(err) || isLocal(err) {
		return err
	}
	imapErr := asIMAP(err)
	switch {
	case imapErr == nil:
		return temporary(err)
	case imapErr.Code == imap.ResponseCodeOverQuota:
		return fmt.Errorf("%w: %w", target.ErrOverQuota, err)
	case transientCodes[imapErr.Code] || notConnected(err):
		return temporary(err)
	case rejected && hasBackoff(err):
		return temporary(err)
	case rejected:
		return fmt.Errorf("%w: %w", target.ErrRejected, err)
	}
	return err
}

func hasBackoff(err error) bool {
	_, ok := suggestedBackoff(err)
	return ok
}
