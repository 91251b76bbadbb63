package imap

import (
	"context"
	"crypto/tls"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/target/imap/internal/session"
)

// errTimeout is wrapped (as target.Temporary) when a watchdog fires.
var errTimeout = session.ErrTimeout

// A conn is one authenticated IMAP connection. It is used by one goroutine
// at a time (the pool hands it out); the watchdog may close it from
// another goroutine.
type conn struct {
	client *imapclient.Client
	id     uint64
	// read counts octets received, so that the watchdog can tell a slow
	// answer that is still arriving from a silent server.
	read *atomic.Uint64
	// caps are the capabilities announced after login.
	caps imap.CapSet
	// tls is the TLS connection's state, nil without TLS.
	tls *tls.ConnectionState
	// selected is the mailbox selected read-only (EXAMINE), or "".
	selected string
	// dead is set once the connection must not be used again.
	dead bool
}

// alive reports whether the connection can take another command.
func (c *conn) alive() bool {
	if c == nil || c.dead {
		return false
	}
	select {
	case <-c.client.Closed():
		return false
	default:
	}
	return c.client.State() != imap.ConnStateLogout
}

// close drops the connection without LOGOUT.
func (c *conn) close() {
	if c == nil {
		return
	}
	c.dead = true
	c.selected = ""
	_ = c.client.Close()
}

// run calls fn under a watchdog that closes the connection when timeout
// passes or ctx ends, which makes fn's pending command fail; see explain
// for the error returned (session.Explain). A connection whose watchdog fired is dead.
func (c *conn) run(ctx context.Context, timeout time.Duration, fn func(*imapclient.Client) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := session.StartWatchdog(ctx, timeout, c.read, func() { _ = c.client.Close() })
	err := fn(c.client)
	reason := w.Stop()
	if reason != session.FiredNone {
		c.dead = true
	}
	return session.Explain(ctx, reason, timeout, err)
}
