// Package servertest holds the client side that the test-server harnesses
// (internal/cyrustest, internal/couriertest, internal/popa3dtest,
// internal/dovecottest) share: read a mailbox back over IMAP exactly as
// served, list folders, APPEND seed messages, and read a POP3 maildrop
// exactly as served.
//
// Each function opens its own connection and closes it before it returns.
package servertest
