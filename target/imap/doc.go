// Package imap stores mail in an IMAP server: it implements target.Target
// over a bounded pool of IMAP4rev1 connections (RFC 3501), reads the UID of
// each appended message from the UIDPLUS APPENDUID response code (RFC 4315)
// and copes with servers that offer only synchronizing literals or LITERAL+
// (RFC 7888).
//
// # Connections
//
// go-imap v2 (beta.8) has no context and no response timeout, and it sends
// every literal over 4096 octets as a synchronizing literal, so each APPEND
// waits one round trip for the server's "+". A server that refuses such a
// literal before the "+" ([TOOBIG], [TRYCREATE] on Dovecot) makes go-imap
// close the connection. This package therefore runs one command at a time
// per connection, keeps up to Options.Connections of them, guards every
// command with a watchdog that closes the connection when the context ends
// or Options.Timeout passes, and replaces any connection that died.
//
// Every connection is opened on one dial path, internal/session: TCP,
// implicit TLS or STARTTLS (refused, never a clear-text fallback, when the
// server sends anything after its OK), the greeting, the capabilities and
// the login (AUTHENTICATE PLAIN, else LOGIN), with the password kept out
// of errors. go-imap takes a pooled connection over from there, reading a
// PREAUTH greeting that carries the capabilities; the raw connections
// below speak the wire (internal/wire) themselves.
//
// # Pipelined APPEND
//
// When the server announces LITERAL+ after login and Options.Pipeline is
// above 1, Append bypasses go-imap (internal/pipe):
// max(1, Connections/2) raw connections of its own, each serving one
// folder at a time (servers such as Dovecot lock a Maildir folder while
// they store into it, so connections appending into one folder
// contend), with up to Pipeline × that many connections APPENDs in
// flight on it as non-synchronizing literals, and a reader goroutine
// that matches tagged answers to requests. A folder whose connection is
// full waits; a folder without one waits for a connection whose
// APPENDs have all finished, and while it does the others take no new
// APPENDs. A request on an idle connection uses a
// synchronizing literal, so that a connection the server closed meanwhile
// is found before the message leaves. Each request has a watchdog limit
// of Timeout + Size/(64 KiB/s) from its start or the last octet read; a
// dead connection fails every request in flight on it as temporary. A
// caller whose context ends stops waiting and the request completes in
// the background, unless its literal was still being written: then the
// connection is closed. Folders, Index and Fetch keep using go-imap.
//
// # Messages holding NUL
//
// IMAP allows NUL only in a literal8 (BINARY, RFC 3516). Where the server
// announces BINARY, a message holding NUL goes as one: "~{n+}" on the
// pipeline, else on a raw connection of its own, dialed for that message
// in the place of a pooled connection (go-imap cannot send a literal8).
// Without BINARY it goes as a plain literal: Dovecot stores it, Cyrus
// refuses it ("Message contains NUL characters"), and the error says that
// the server does not announce BINARY.
//
// Cyrus 3.6 serves such a message over BODY.PEEK[] as a literal8 too
// ("BODY[] ~{n}"), which go-imap cannot parse ("imapwire: expected
// nstring, got "{""; the connection is lost). Where the server announces
// BINARY and go-imap fails so, Fetch reads that message once more on a
// raw connection in the place of the pooled one (fetchraw.go), whose
// reader keeps a literal8's octets; an answer that holds no literal8
// stays an error. BINARY.PEEK[] is no substitute: it undoes transfer
// encodings (Dovecot serves every message so), and the bytes would not be
// the stored ones.
//
// # Errors
//
// Errors are classified once, here: refused credentials wrap
// target.ErrAuth, [OVERQUOTA] wraps target.ErrOverQuota, a message the
// server refuses for good wraps target.ErrRejected, and network failures,
// timeouts, BYE, [UNAVAILABLE] and [INUSE] are target.Temporary. A done
// context yields ctx.Err().
package imap
