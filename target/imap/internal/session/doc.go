// Package session is the one dial path of package imap: TCP through
// Options.Dialer, implicit TLS or STARTTLS (refused when the server sends
// anything after its OK, a plain-text injection), the greeting, the
// capabilities and the login (AUTHENTICATE PLAIN, else LOGIN), with the
// password kept out of every error. Both kinds of connection start here:
// the go-imap pool takes a session over with Handover, the raw connections
// (the pipelined APPENDs of package pipe, the FETCH of a literal8) speak
// the wire themselves with Command.
//
// It also holds what both kinds share: the watchdog that bounds each
// command, the error classes (Temporary, server answers, the login's) and
// the inner retry budget of package retry.
package session
