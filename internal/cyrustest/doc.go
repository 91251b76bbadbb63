// Package cyrustest starts a private Cyrus IMAP 3.6 (imapd and pop3d, from
// Debian 12's packages) on loopback for integration tests, seeds mailboxes
// and reads mail back.
//
// The packages are not installed (cyrus-imapd and cyrus-pop3d Conflict with
// Dovecot's): .ci/servers unpacks them into a cache directory, and each
// Server runs its master in a private mount and PID namespace (see
// internal/nstest) with that root overlaid on /usr and /etc, its own
// configuration, spool and sasldb under its own directory, and its own
// ports. The user "cyrus" exists only inside the namespace. Cyrus logs only
// to syslog: Log returns those lines, and a failed test prints them.
//
// Two namespace modes: classic (personal folders under "INBOX." with "."
// as separator; admin's view "user.NAME") and, with Options.AltNamespace,
// Cyrus 3's default altnamespace + unixhierarchysep ("/" as separator,
// folders beside INBOX, no prefix). Cyrus's defaults are kept otherwise:
// munge8bit turns raw 8-bit header bytes into 'X' (Options.Config can set
// "munge8bit: no" or "reject8bit: yes").
//
// When the packages or root are missing, Start skips the test, unless the
// environment has CI=true: then it fails.
package cyrustest
