package imap

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap/internal/pipe"
	"github.com/mailferry/mailferry/target/imap/internal/session"
)

// Target is an IMAP account seen as a target.Target. All methods are safe
// for concurrent use; at most Options.Connections commands run at once, one
// per connection, and a call waits for a free connection.
type Target struct {
	opts   Options
	pool   *pool
	caps   imap.CapSet
	tls    *tls.ConnectionState // the first connection's; nil without TLS
	nextID atomic.Uint64
	// pipe sends APPENDs when the server announces LITERAL+; nil if not.
	pipe *pipe.Pipeline

	mu    sync.Mutex
	known map[string]bool // folders known to exist

	// sleep waits as a server asks (Suggested Backoff Time); tests
	// replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ target.Target = (*Target)(nil)

// New checks opts and dials one connection now, so that a wrong address,
// an untrusted certificate or a refused password fails fast; further
// connections are dialed when needed, up to opts.Connections. Errors: a
// refused password wraps target.ErrAuth; TLS verification errors are
// wrapped as crypto/tls returns them; network failures are
// target.Temporary.
func New(ctx context.Context, opts Options) (*Target, error) {
	if opts.Addr == "" || opts.Username == "" {
		return nil, fmt.Errorf("imap target: Addr and Username are required")
	}
	opts.applyDefaults()
	t := &Target{opts: opts, pool: newPool(opts.Connections), known: make(map[string]bool), sleep: retry.Sleep}
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	t.caps, t.tls = c.caps, c.tls
	if opts.Pipeline > 1 && c.caps.Has(imap.CapLiteralPlus) {
		// APPENDs take the pipeline's connections; this one would idle.
		// The go-imap pool keeps the rest, so that both together stay
		// within Connections (servers cap connections per user).
		t.pipe = t.newPipeline(pipeConns(opts.Connections), opts.Pipeline)
		t.pool = newPool(max(1, opts.Connections-pipeConns(opts.Connections)))
		t.logout(c)
		return t, nil
	}
	if _, err := t.pool.acquire(ctx); err != nil {
		c.close()
		return nil, err
	}
	t.pool.release(c)
	return t, nil
}

// MaxInFlight is how many Appends can be in progress at once: callers
// that want the target busy run that many concurrently.
func (t *Target) MaxInFlight() int {
	if t.pipe != nil {
		return pipeConns(t.opts.Connections) * t.opts.Pipeline
	}
	return t.opts.Connections
}

// Caps returns the capabilities the server announced to the first
// connection after login. The set must not be modified.
func (t *Target) Caps() imap.CapSet {
	return t.caps
}

// TLSState returns the state of the first connection's TLS, and false
// when the target is reached without TLS.
func (t *Target) TLSState() (tls.ConnectionState, bool) {
	if t.tls == nil {
		return tls.ConnectionState{}, false
	}
	return *t.tls, true
}

// Close logs out of every idle connection, each within a few seconds, and
// makes later calls fail. Connections still in use by other calls are
// closed when those calls return. Close always returns nil: a failed
// LOGOUT loses nothing.
func (t *Target) Close() error {
	if t.pipe != nil {
		t.pipe.Close()
	}
	var wg sync.WaitGroup
	for _, c := range t.pool.close() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.logout(c)
		}()
	}
	wg.Wait()
	return nil
}

// logout sends LOGOUT, waits for the server to close its side and
// closes c, bounded by logoutTimeout.
func (t *Target) logout(c *conn) {
	timeout := min(logoutTimeout, t.opts.Timeout)
	err := c.run(context.Background(), timeout, func(cl *imapclient.Client) error {
		return cl.Logout().Wait()
	})
	if err == nil {
		select {
		case <-c.client.Closed():
		case <-time.After(timeout):
		}
	}
	c.close()
}

// withConn runs fn on a connection from the pool, dialing one when the
// pool has none or its connection died. When fn reports retry (the
// command failed without reaching the server, or is idempotent), the
// connection is replaced and fn runs again, within the inner budget of
// package retry (session.InnerRetry); then the last error is returned as
// target.Temporary.
func (t *Target) withConn(ctx context.Context, fn func(*conn) (retry bool, err error)) error {
	c, err := t.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer func() { t.pool.release(c) }()
	final := false // the last error is not worth another call
	err = retry.Do(ctx, session.InnerRetry(&final), func(attempt int) error {
		if !c.alive() {
			c.close()
			if c, err = t.dial(ctx); err != nil {
				final = ctx.Err() != nil || !isTemporary(err)
				return err
			}
		}
		again, err := fn(c)
		if err == nil || !again || ctx.Err() != nil {
			final = true
			return err
		}
		t.opts.Logger.Debug("imap retry", "conn", c.id, "attempt", attempt+1, "err", err)
		c.close()
		return err
	})
	return session.GaveUp(err)
}
