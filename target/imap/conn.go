package imap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// errTimeout is wrapped (as target.Temporary) when the watchdog fires.
var errTimeout = errors.New("no answer from the IMAP server in time")

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

// Watchdog reasons.
const (
	firedNone int32 = iota
	firedTimeout
	firedContext
)

// A watchdog calls kill once, when timeout passes or ctx ends, unless
// stopped first. When progress is not nil and its count grew during the
// last period, the timeout starts over: an answer still arriving is not
// cut off.
type watchdog struct {
	fired    atomic.Int32
	timer    *time.Timer
	stopCtx  func() bool
	progress *atomic.Uint64
	seen     atomic.Uint64 // progress at the last check
}

func startWatchdog(ctx context.Context, timeout time.Duration, progress *atomic.Uint64, kill func()) *watchdog {
	w := &watchdog{progress: progress}
	if progress != nil {
		w.seen.Store(progress.Load())
	}
	fire := func(reason int32) {
		if w.fired.CompareAndSwap(firedNone, reason) {
			kill()
		}
	}
	w.timer = time.AfterFunc(timeout, func() {
		if w.progress != nil {
			if n := w.progress.Load(); n != w.seen.Load() {
				w.seen.Store(n)
				w.timer.Reset(timeout)
				return
			}
		}
		fire(firedTimeout)
	})
	w.stopCtx = context.AfterFunc(ctx, func() { fire(firedContext) })
	return w
}

// stop disarms the watchdog and says whether and why it fired.
func (w *watchdog) stop() int32 {
	w.timer.Stop()
	w.stopCtx()
	return w.fired.Load()
}

// explain turns err, returned by work the watchdog guarded, into the
// error to report: a server answer (nil, or an *imap.Error) is believed
// even when the watchdog fired meanwhile, so that an APPEND that succeeded
// is never reported as failed; otherwise a timeout becomes a
// target.Temporary error and a done context ctx.Err().
func explain(ctx context.Context, reason int32, timeout time.Duration, err error) error {
	if err == nil || asIMAP(err) != nil {
		return err
	}
	switch reason {
	case firedTimeout:
		return temporary(fmt.Errorf("%w (%v): %v", errTimeout, timeout, err))
	case firedContext:
		return ctx.Err()
	}
	return err
}

// run calls fn under a watchdog that closes the connection when timeout
// passes or ctx ends, which makes fn's pending command fail; see explain
// for the error returned. A connection whose watchdog fired is dead.
func (c *conn) run(ctx context.Context, timeout time.Duration, fn func(*imapclient.Client) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := startWatchdog(ctx, timeout, c.read, func() { _ = c.client.Close() })
	err := fn(c.client)
	reason := w.stop()
	if reason != firedNone {
		c.dead = true
	}
	return explain(ctx, reason, timeout, err)
}

// A countingConn counts the octets read from it.
type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(uint64(n))
	return n, err
}
