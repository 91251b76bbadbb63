package pop3

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
)

// TLSState returns the state of the session's TLS connection, and false
// when the session has no TLS (TLSNone).
func (s *Source) TLSState() (tls.ConnectionState, bool) {
	if tc, ok := s.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// Stat asks STAT: how many messages the maildrop holds and their octets,
// as the server counts them. It reads no listing: the cheap count that
// mailferry check prints.
func (s *Source) Stat(ctx context.Context) (count int, octets int64, err error) {
	if err := s.begin(); err != nil {
		return 0, 0, err
	}
	stop := s.watch(ctx)
	count, octets, err = s.stat()
	if err = s.finish(ctx, stop, ctxError(ctx, err)); err != nil {
		return 0, 0, err
	}
	return count, octets, nil
}

func (s *Source) stat() (int, int64, error) {
	if err := s.cmd("STAT"); err != nil {
		return 0, 0, fmt.Errorf("pop3 stat: %w", err)
	}
	text, err := s.readStatus()
	if err != nil {
		return 0, 0, fmt.Errorf("pop3 stat: %w", err)
	}
	f := strings.Fields(text)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("pop3 stat: malformed reply %.80q", text)
	}
	n, err1 := strconv.Atoi(f[0])
	b, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || n < 0 || b < 0 {
		return 0, 0, fmt.Errorf("pop3 stat: malformed reply %.80q", text)
	}
	return n, b, nil
}
