// Package wire is the IMAP wire format as the raw connections of package
// imap speak it (login, STARTTLS, pipelined APPEND, the FETCH of a
// literal8): command arguments encoded as go-imap encodes them, and
// responses read whole, literals included, with the one parser of a
// literal's size.
package wire
