// Package pipe is the pipelined APPEND client of package imap: APPENDs
// with non-synchronizing literals (LITERAL+, RFC 7888), many in flight on
// each of a few raw connections of its own, opened through the one dial
// path (package session) and spoken with package wire.
package pipe

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/target/imap/internal/session"
)

// ErrBody marks a failure to read the message body.
var ErrBody = errors.New("message body")

// Config configures a Pipeline.
type Config struct {
	// Conns connections, one per key (a folder) at a time, with up to
	// Conns × Depth requests in flight on each: one folder alone can
	// have as many in flight as all connections together. With Conns and
	// Depth 1 every request finds its connection idle and uses a
	// synchronizing literal: such a pipeline needs no LITERAL+.
	Conns, Depth int
	// Dial opens one connection.
	Dial func(context.Context) (*session.Session, error)
	// Timeout is the watchdog's limit for an APPEND of size octets,
	// counted from its start or from the last octet read.
	Timeout func(size int64) time.Duration
	// LogoutTimeout bounds each LOGOUT in Close.
	LogoutTimeout time.Duration
	// Closed is the error of calls made after Close.
	Closed error
	Logger *slog.Logger
}

// A Pipeline sends APPENDs on up to Config.Conns connections, each
// serving one key (the folder) at a time: servers that lock a folder
// while they store into it (Dovecot's Maildir) do best with one
// connection per folder and many requests in flight on it. A call holds
// a place on its key's slot from reserve until its request is answered;
// it waits (respecting its context) while that slot is full, or while
// its key has no slot and none is idle. A slot whose requests have all
// finished is idle and may be given another key.
type Pipeline struct {
	cfg   Config
	limit int // requests in flight on one slot: Conns × Depth

	mu     sync.Mutex
	slots  []*slot
	closed bool
	// changed is closed and replaced whenever a blocked call may
	// proceed: a place freed, a slot keyed, a waiter gone, Close.
	changed chan struct{}
	blocked int // calls waiting on changed
	// waiting are the calls whose key has no slot, oldest first: while
	// any waits, no slot takes more requests for another key, so that a
	// slot becomes idle and the oldest gets it (nothing waits forever).
	waiting []*waiter

	// maxInFlight is the most requests seen in flight on one connection.
	maxInFlight atomic.Int64
}

// A waiter is one call waiting for a slot for its key.
type waiter struct {
	key    string
	queued bool // in Pipeline.waiting; guarded by Pipeline.mu
}

// A slot holds one pipelined connection, dialed lazily. Its lock (a
// one-token channel, so that waiting respects a context) is held while
// dialing and while writing one request.
type slot struct {
	key   string // the key it serves, when keyed; guarded by Pipeline.mu
	keyed bool   // guarded by Pipeline.mu
	load  int    // reserved requests; guarded by Pipeline.mu
	lock  chan struct{}
	c     *conn // guarded by lock
}

// New returns a pipeline; it dials when the first requests come.
func New(cfg Config) *Pipeline {
	p := &Pipeline{cfg: cfg, limit: max(1, cfg.Conns*cfg.Depth), changed: make(chan struct{})}
	for range cfg.Conns {
		p.slots = append(p.slots, &slot{lock: make(chan struct{}, 1)})
	}
	return p
}

// MaxInFlight is the most requests seen in flight on one connection.
func (p *Pipeline) MaxInFlight() int64 {
	return p.maxInFlight.Load()
}

// Append runs one APPEND of head (the command without tag and literal)
// and the size octets of body, which must all be readable, on the
// connection serving key (the folder the APPEND names). It repeats the
// APPEND on a new connection only when none of it was sent, within the
// inner retry budget; binary sends the message as a literal8 (RFC 3516).
// It returns the UID of APPENDUID or 0; the server's NO or BAD as an
// *imap.Error; ErrBody (wrapped) when body fails; a done ctx's error;
// mailnet.Temporary for failures to talk, timeouts included.
func (p *Pipeline) Append(ctx context.Context, key, head string, body io.ReaderAt, size int64, binary bool) (uint32, error) {
	var r *request
	final := false // the last error is not worth another try
	err := retry.Do(ctx, session.InnerRetry(&final), func(attempt int) error {
		var err error
		r, err = p.try(ctx, key, head, body, size, binary)
		if err == nil || errors.Is(err, errAnswered) || ctx.Err() != nil ||
			!(errors.Is(err, errNotSent) || session.IsTemporary(err)) {
			final = true
			return err
		}
		p.cfg.Logger.Debug("imap pipeline retry", "attempt", attempt+1, "err", err)
		return err
	})
	switch {
	case err == nil:
		return p.await(ctx, r)
	case errors.Is(err, errAnswered):
		return r.uid, r.err
	}
	return 0, session.GaveUp(err)
}

// try reserves a place, dials when the slot has no live connection and
// sends the request. On error the reservation is released.
func (p *Pipeline) try(ctx context.Context, key, head string, body io.ReaderAt, size int64, binary bool) (*request, error) {
	s, err := p.reserve(ctx, key)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	r := &request{timeout: p.cfg.Timeout(size), binary: binary, done: make(chan struct{})}
	r.release = func() { once.Do(func() { p.unreserve(s) }) }
	if err := p.sendOn(ctx, s, r, head, body, size); err != nil {
		r.release()
		return r, err
	}
	return r, nil
}

func (p *Pipeline) sendOn(ctx context.Context, s *slot, r *request, head string, body io.ReaderAt, size int64) error {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.lock }()
	if !s.c.alive() {
		if s.c != nil {
			s.c.fail(session.Temporary(p.cfg.Closed))
		}
		sess, err := p.cfg.Dial(ctx)
		if err != nil {
			s.c = nil
			return err
		}
		s.c = newConn(sess)
		p.cfg.Logger.Debug("imap pipeline connected")
	}
	err := s.c.send(ctx, r, head, body, size)
	n := int64(s.c.inFlight())
	for m := p.maxInFlight.Load(); n > m && !p.maxInFlight.CompareAndSwap(m, n); m = p.maxInFlight.Load() {
	}
	return err
}

// await waits for r's answer. A done ctx returns ctx.Err() and leaves r
// to finish in the background: its connection stays in sync and usable.
func (p *Pipeline) await(ctx context.Context, r *request) (uint32, error) {
	select {
	case <-r.done:
	case <-ctx.Done():
		select {
		case <-r.done:
		default:
			return 0, ctx.Err()
		}
	}
	if r.err != nil && session.AsIMAP(r.err) == nil && ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return r.uid, r.err
}

// reserve takes a place on the slot serving key: the slot already
// keyed so when there is one, else an idle slot, which is given key. It
// waits, respecting ctx, while that slot is full (it never spills onto a
// second connection), or while no slot is idle, or while calls for
// other keys wait for a slot of their own.
func (p *Pipeline) reserve(ctx context.Context, key string) (*slot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var w *waiter // queued in p.waiting while key has no slot
	defer func() {
		if w != nil && p.dequeue(w) {
			p.signal()
		}
	}()
	for {
		if p.closed {
			return nil, p.cfg.Closed
		}
		if s := p.pick(key); s != nil {
			s.load++
			return s, nil
		}
		if (w == nil || !w.queued) && p.keyed(key) == nil {
			w = &waiter{key: key, queued: true}
			p.waiting = append(p.waiting, w)
		}
		changed := p.changed
		p.blocked++
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		p.mu.Lock()
		p.blocked--
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// pick returns the slot on which key may take a place now, or nil. The
// caller holds p.mu.
func (p *Pipeline) pick(key string) *slot {
	if s := p.keyed(key); s != nil {
		if s.load >= p.limit || p.othersWait(key) {
			return nil
		}
		return s
	}
	if len(p.waiting) > 0 && p.waiting[0].key != key {
		return nil // an older call for another key goes first
	}
	for _, s := range p.slots {
		if s.load == 0 {
			s.key, s.keyed = key, true
			// Calls queued for key now find its slot.
			p.waiting = slices.DeleteFunc(p.waiting, func(o *waiter) bool {
				if o.key == key {
					o.queued = false
					return true
				}
				return false
			})
			p.signal()
			return s
		}
	}
	return nil
}

// keyed returns the slot serving key, or nil.
func (p *Pipeline) keyed(key string) *slot {
	for _, s := range p.slots {
		if s.keyed && s.key == key {
			return s
		}
	}
	return nil
}

// othersWait reports whether a call for a key other than key waits for
// a slot. The caller holds p.mu.
func (p *Pipeline) othersWait(key string) bool {
	for _, w := range p.waiting {
		if w.key != key {
			return true
		}
	}
	return false
}

// dequeue removes w from p.waiting and reports whether it was there.
func (p *Pipeline) dequeue(w *waiter) bool {
	i := slices.Index(p.waiting, w)
	if i < 0 {
		return false
	}
	w.queued = false
	p.waiting = slices.Delete(p.waiting, i, i+1)
	return true
}

// signal wakes every blocked call. The caller holds p.mu.
func (p *Pipeline) signal() {
	if p.blocked == 0 {
		return
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Pipeline) unreserve(s *slot) {
	p.mu.Lock()
	s.load--
	p.signal()
	p.mu.Unlock()
}

// Close makes later calls fail and logs out of every idle connection,
// each within LogoutTimeout; a busy one is closed at once, failing its
// requests with a temporary error.
func (p *Pipeline) Close() {
	p.mu.Lock()
	p.closed = true
	p.signal()
	slots := p.slots
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.closeSlot(s)
		}()
	}
	wg.Wait()
}

func (p *Pipeline) closeSlot(s *slot) {
	timeout := p.cfg.LogoutTimeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	select {
	case s.lock <- struct{}{}:
		defer func() { <-s.lock }()
	case <-ctx.Done():
		return // a writer stuck that long is cut off by its watchdog
	}
	c := s.c
	if c == nil {
		return
	}
	if c.alive() && c.inFlight() == 0 {
		_ = c.sess.Conn.SetWriteDeadline(time.Now().Add(timeout))
		_, _ = c.sess.W.WriteString("Z LOGOUT\r\n")
		if c.sess.W.Flush() == nil {
			select {
			case <-c.done:
			case <-ctx.Done():
			}
		}
	}
	c.fail(session.Temporary(p.cfg.Closed))
}

// A BodyReader remembers a read error, to tell it from a write error.
type BodyReader struct {
	R   io.Reader
	Err error
}

func (b *BodyReader) Read(p []byte) (int, error) {
	n, err := b.R.Read(p)
	if err != nil && err != io.EOF {
		b.Err = err
	}
	return n, err
}
