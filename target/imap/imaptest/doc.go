// Package imaptest runs an in-memory IMAP server for tests and demos, like
// net/http/httptest: go-imap's imapmemserver on 127.0.0.1 with one user, a
// clear-text listener that also offers STARTTLS, an implicit-TLS listener
// with a self-signed certificate, and helpers that read back what a client
// stored, byte for byte.
//
// The server announces IMAP4rev1 (RFC 3501), UIDPLUS (RFC 4315) and
// LITERAL+ (RFC 7888); go-imap's server adds LITERAL-, which Dovecot does
// not offer, so small literals are non-synchronizing here and
// synchronizing on Dovecot. imapmemserver answers APPEND with APPENDUID,
// refuses an APPEND to a missing folder with [TRYCREATE] after reading the
// literal (Dovecot refuses before the "+"), and lacks SPECIAL-USE and ID.
// Test against Dovecot for the truth.
//
// Faults: SetAppendHook refuses APPENDs with any response code,
// SetCommandHook ends a SELECT, EXAMINE, FETCH or APPEND with an untagged
// BYE before or after running it, and DropConnections cuts every
// connection.
package imaptest
