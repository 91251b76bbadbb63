// Package dovecottest starts a private Dovecot (IMAP, IMAPS, POP3, POP3S on
// loopback) for integration tests, seeds its Maildirs and reads mail back.
//
// Each Server has its own temp directory, config, ports and self-signed
// certificate; it never touches /etc/dovecot or the system service, so any
// number of servers may run side by side, also across the test binaries that
// `go test ./...` runs in parallel.
//
// Run as root (CI), mail processes run as the system user "mailferrytest",
// created with useradd on first use. Run as a normal user, every Dovecot
// process runs as that user.
//
// When Dovecot is not installed, Start skips the test, unless the environment
// has CI=true: then a missing server fails the test.
package dovecottest
