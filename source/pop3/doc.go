// Package pop3 reads a POP3 maildrop (RFC 1939) as a source.Source,
// byte for byte: it lists messages by UIDL and retrieves them with RETR,
// pipelined when the server announces PIPELINING (RFC 2449). Listing and
// reading never change the maildrop: Close ends the session with QUIT
// and no DELE. Only Delete (source.Deleter, what a source's delete:
// after-upload or keep-days:N asks for once the copies are safe) sends
// DELE, for the messages it is given, then QUIT.
//
// Message bodies are streamed through this package's own dot-reader: the
// only change made to the bytes the server sends is the removal of the
// dot-stuffing (RFC 1939 section 3). Line endings, bare LF, 8-bit bytes,
// NUL and lines of any length are kept as sent. A server sends lines
// ending in CRLF (RFC 1939 section 3), so Open gives CRLF line endings as
// source.Source requires, and the package passes the conformance suite
// (source/sourcetest) against pop3test; the one exception is a server
// that sends a bare LF: this package adds no CR, so Open gives that bare
// LF as sent, and Ref.Size (the octet count LIST reported) stays exact.
//
// UTF-8 mode (RFC 6856) is turned on when the server announces UTF8, so
// that a message with raw 8-bit header fields is served as stored. Outside
// it, Courier serves such a message as a substitute it makes up ("Cannot
// display Unicode content", the original attached); the source recognises
// it and fails that message (source.ErrUnreadable) instead of returning it.
//
// Security: STLS (RFC 2595) is refused when the server has sent anything
// after its +OK before the TLS handshake (the CVE-2011-0411 class of
// plaintext injection), authentication uses SASL PLAIN (RFC 5034) when
// offered and USER/PASS otherwise, and passwords never appear in errors.
//
// Errors are classified here, once: authentication refusals wrap
// source.ErrAuth, a RETR the server refuses wraps source.ErrNotFound,
// network errors, timeouts and the response codes IN-USE, SYS/TEMP
// and LOGIN-DELAY (RFC 2449, RFC 3206) are source.TemporaryError.
package pop3
