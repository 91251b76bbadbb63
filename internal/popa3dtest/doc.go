// Package popa3dtest starts a private popa3d 1.0 (Debian 12's package), a
// POP3 server that serves system users' mbox files, on loopback for
// integration tests, and seeds and reads back those maildrops.
//
// The package is not installed (popa3d Conflicts with dovecot-pop3d):
// .ci/servers unpacks it into a cache directory. Each Server has a private
// mount and PID namespace (see internal/nstest) where the users and their
// passwords exist (added to the overlaid /etc: popa3d checks them through
// PAM) and /var/mail is Dir/mail on the host. popa3d is an inetd-style
// server: the Server's listener accepts on a free loopback port and starts
// one popa3d per connection inside the namespace (nsenter), with the
// connection as its standard input and output.
//
// popa3d answers CAPA with -ERR (no UIDL announcement, no PIPELINING, no
// STLS) but has UIDL; it sends a stored CR LF as CR CR LF, which is why Seed
// stores LF line ends. Only a line of a lone LF is empty to it: in a message
// stored with CR LF line ends it finds no end of header, takes the empty
// line before the next "From " line for it, and serves that line as the
// message's last (an extra CR LF). Its UIDL is a hash of a few header fields (Date,
// Received, Message-ID seen so far), not of the body, the "From " line or
// other fields: messages that have none of them, or the same ones, share
// one UIDL in a maildrop (RFC 1939 wants them unique).
//
// Without the package or root, Start skips the test, unless the
// environment has CI=true: then it fails.
package popa3dtest
