package imap

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/target"
)

// ErrNotFound is returned by Fetch when the folder holds no message with
// that UID.
var ErrNotFound = target.ErrNotFound

// temporary marks err as transient unless it already is.
func temporary(err error) error {
	var te *target.TemporaryError
	if err == nil || errors.As(err, &te) {
		return err
	}
	return target.Temporary(err)
}

// asIMAP returns the server's status response inside err, or nil.
func asIMAP(err error) *imap.Error {
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		return imapErr
	}
	return nil
}

// hasCode reports whether err is a server response with that code.
func hasCode(err error, code imap.ResponseCode) bool {
	imapErr := asIMAP(err)
	return imapErr != nil && imapErr.Code == code
}

// isContext reports whether err comes from a done context.
func isContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// transientCodes are NO responses that may succeed later (RFC 5530).
var transientCodes = map[imap.ResponseCode]bool{
	imap.ResponseCodeUnavailable: true,
	imap.ResponseCodeInUse:       true,
	imap.ResponseCodeServerBug:   true,
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
	case transientCodes[imapErr.Code]:
		return temporary(err)
	case rejected:
		return fmt.Errorf("%w: %w", target.ErrRejected, err)
	}
	return err
}

// redactLogin removes a password from s in every form a login sends it:
// plain, quoted with escapes (LOGIN), and inside the base64 of an
// AUTHENTICATE PLAIN response, in case a server echoes the command.
func redactLogin(s, user, secret string) string {
	if secret == "" {
		return s
	}
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(secret)
	forms := []string{secret, quoted}
	for _, ir := range []string{"\x00" + user + "\x00" + secret, user + "\x00" + user + "\x00" + secret} {
		forms = append(forms, base64.StdEncoding.EncodeToString([]byte(ir)))
	}
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, "***")
	}
	return s
}
