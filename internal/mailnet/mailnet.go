// Package mailnet holds what the network sources and targets share: the
// TLS modes of a connection and the error marks the engine classifies
// (ErrAuth, TemporaryError). Packages source and target re-export the
// errors, source/pop3 and target/imap the TLS modes, as aliases of these:
// one type and one value each, whichever name a caller uses.
package mailnet

import (
	"errors"
	"fmt"
)

// TLSMode says how a connection is protected.
type TLSMode int

const (
	// TLSImplicit speaks TLS from the first byte (pop3s on port 995,
	// imaps on port 993).
	TLSImplicit TLSMode = iota
	// TLSStartTLS connects in clear text and upgrades (POP3 STLS, IMAP
	// STARTTLS) before authenticating; a server that does not offer or
	// refuses the upgrade is an error, never a fallback to clear text.
	TLSStartTLS
	// TLSNone sends everything, the password included, in clear text.
	// Use it only on loopback or inside a trusted tunnel.
	TLSNone
)

// String returns the mode's name: "implicit", "starttls" or "none".
func (m TLSMode) String() string {
	switch m {
	case TLSImplicit:
		return "implicit"
	case TLSStartTLS:
		return "starttls"
	case TLSNone:
		return "none"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// ErrAuth means the server refused the credentials: fatal for the job.
var ErrAuth = errors.New("authentication refused")

// TemporaryError marks an error as transient: reconnecting and trying
// again may succeed (a reset connection, a timeout, a BYE, POP3 -ERR
// [IN-USE], IMAP [UNAVAILABLE]).
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string   { return e.Err.Error() }
func (e *TemporaryError) Unwrap() error   { return e.Err }
func (e *TemporaryError) Temporary() bool { return true }

// Temporary wraps err as a TemporaryError; nil stays nil.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &TemporaryError{Err: err}
}
