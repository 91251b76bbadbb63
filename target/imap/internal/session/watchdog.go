package session

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Why a watchdog fired.
const (
	FiredNone int32 = iota
	FiredTimeout
	FiredContext
)

// A Watchdog calls kill once, when timeout passes or ctx ends, unless
// stopped first. When progress is not nil and its count grew during the
// last period, the timeout starts over: an answer still arriving is not
// cut off.
type Watchdog struct {
	fired    atomic.Int32
	timer    *time.Timer
	stopCtx  func() bool
	progress *atomic.Uint64
	seen     atomic.Uint64 // progress at the last check
}

// StartWatchdog arms a watchdog.
func StartWatchdog(ctx context.Context, timeout time.Duration, progress *atomic.Uint64, kill func()) *Watchdog {
	w := &Watchdog{progress: progress}
	if progress != nil {
		w.seen.Store(progress.Load())
	}
	fire := func(reason int32) {
		if w.fired.CompareAndSwap(FiredNone, reason) {
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
		fire(FiredTimeout)
	})
	w.stopCtx = context.AfterFunc(ctx, func() { fire(FiredContext) })
	return w
}

// Stop disarms the watchdog and says whether and why it fired.
func (w *Watchdog) Stop() int32 {
	w.timer.Stop()
	w.stopCtx()
	return w.fired.Load()
}

// Explain turns err, returned by work a watchdog guarded, into the error
// to report: a server answer (nil, or an *imap.Error) is believed even
// when the watchdog fired meanwhile, so that an APPEND that succeeded is
// never reported as failed; otherwise a timeout becomes a temporary
// ErrTimeout and a done context ctx.Err().
func Explain(ctx context.Context, reason int32, timeout time.Duration, err error) error {
	if err == nil || AsIMAP(err) != nil {
		return err
	}
	switch reason {
	case FiredTimeout:
		return Temporary(fmt.Errorf("%w (%v): %v", ErrTimeout, timeout, err))
	case FiredContext:
		return ctx.Err()
	}
	return err
}

// A lateCloser closes a connection that may not exist yet: one set after
// close is closed at once.
type lateCloser struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

func (l *lateCloser) set(c net.Conn) {
	l.mu.Lock()
	l.conn = c
	closed := l.closed
	l.mu.Unlock()
	if closed {
		_ = c.Close()
	}
}

func (l *lateCloser) close() {
	l.mu.Lock()
	l.closed = true
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// A meteredConn counts the octets read from it and records when they
// last arrived, for the watchdogs.
type meteredConn struct {
	net.Conn
	read *atomic.Uint64
	last *atomic.Int64 // Unix nanoseconds
}

func (c meteredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.read.Add(uint64(n))
		c.last.Store(time.Now().UnixNano())
	}
	return n, err
}
