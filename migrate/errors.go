package migrate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/target"
)

// Class is what an error means for the job.
type Class int

// Error classes, from harmless to fatal.
const (
	ClassNone        Class = iota
	ClassMessage           // one message failed for good; the run goes on
	ClassTransient         // retry after a pause
	ClassConnect           // cannot connect, authenticate, verify TLS, or the target is full
	ClassInterrupted       // the context ended
	ClassFatal             // anything else: stop the job
)

// A ConnectError is a failure to reach or log in to a server that retrying
// did not cure.
type ConnectError struct {
	What string // "source pop3s://alice@host:995", "target"
	Err  error
}

func (e *ConnectError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// ErrFolderRefused marks the failure of a message whose target folder the
// server would not create under any name mailferry tries.
var ErrFolderRefused = errors.New("cannot create the folder")

// ClassOf classifies err. Adapters mark their errors with the sentinel
// errors of packages source and target and mailnet.TemporaryError; this is
// the one place that acts on those marks.
func ClassOf(err error) Class {
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var connErr *ConnectError
	var temp interface{ Temporary() bool }
	switch {
	case err == nil:
		return ClassNone
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ClassInterrupted
	case errors.Is(err, mailnet.ErrAuth), errors.Is(err, mailnet.ErrTLS),
		errors.Is(err, target.ErrOverQuota), errors.As(err, &connErr),
		errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return ClassConnect
	case errors.Is(err, target.ErrRejected), errors.Is(err, source.ErrNotFound),
		errors.Is(err, source.ErrUnreadable), errors.Is(err, ErrFolderRefused):
		return ClassMessage
	case errors.As(err, &temp) && temp.Temporary():
		return ClassTransient
	}
	return ClassFatal
}
