// Package couriertest starts a private Courier-IMAP 5.0 and courier-pop
// (Debian 12's packages) on loopback for integration tests, seeds the
// users' Maildirs and reads mail back, over IMAP or straight from the files.
//
// The packages are not installed (courier-imap and courier-pop Conflict
// with Dovecot's): .ci/servers unpacks them into a cache directory, and
// each Server runs authdaemond and two couriertcpd listeners in a private
// mount and PID namespace (see internal/nstest) where that root is overlaid
// on /usr and /etc: /etc/courier is the package's, edited only there
// (authuserdb, the users), /run/courier a fresh tmpfs. gam_server (gamin)
// is in the same root: without it every login and SELECT waits about 1.2 s.
// Mail belongs to a user "vmail" that exists only in the namespace; the
// Maildirs are Dir/home/USER/Maildir on the host.
//
// Courier's namespace: personal folders under "INBOX." with "." as
// separator, stored as Maildir++ folders (Maildir/.Name). Its defaults are
// kept (IMAP_EMPTYTRASH=Trash:7 among them); Options.Env overrides them.
// Facts to know when writing tests: Maildir files hold LF line ends, served
// as CRLF; courier-pop sends a stored CR LF as CR CR LF; Courier IMAP drops
// a bare CR; courier-pop announces UTF8 (RFC 6856) and, to a client that
// did not send UTF8, serves a substitute for a message with raw UTF-8
// headers; APPEND is refused while the selected folder was opened with
// EXAMINE.
//
// Without the packages or root, Start skips the test, unless the
// environment has CI=true: then it fails.
package couriertest
