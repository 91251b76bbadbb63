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
	// Conns connections, with up to Depth requests in flight on each.
	// With Depth 1 every request finds its connection idle and uses a
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

// A Pipeline sends APPENDs on up to Config.Conns connections, with up to
// Config.Depth in flight on each. A call holds a token from reserve until
// its request is answered, so at most Conns × Depth requests are in
// flight and a call waits (respecting its context) while all are.
type Pipeline struct {
	cfg    Config
	tokens chan struct{}

	mu     sync.Mutex
	slots  []*slot
	closed bool

	// maxInFlight is the most requests seen in flight on one connection.
	maxInFlight atomic.Int64
}

// A slot holds one pipelined connection, dialed lazily. Its lock (a
// one-token channel, so that waiting respects a context) is held while
// dialing and while writing one request.
type slot struct {
	load int // reserved requests; guarded by Pipeline.mu
	lock chan struct{}
	c    *conn // guarded by lock
}

// New returns a pipeline; it dials when the first requests come.
func New(cfg Config) *Pipeline {
	p := &Pipeline{cfg: cfg, tokens: make(chan struct{}, cfg.Conns*cfg.Depth)}
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
// and the size octets of body, which must all be readable. It repeats the
// APPEND on another connection only when none of it was sent, within the
// inner retry budget; binary sends the message as a literal8 (RFC 3516).
// It returns the UID of APPENDUID or 0; the server's NO or BAD as an
// *imap.Error; ErrBody (wrapped) when body fails; a done ctx's error;
// mailnet.Temporary for failures to talk, timeouts included.
func (p *Pipeline) Append(ctx context.Context, head string, body io.ReaderAt, size int64, binary bool) (uint32, error) {
	var r *request
	final := false // the last error is not worth another try
	err := retry.Do(ctx, session.InnerRetry(&final), func(attempt int) error {
		var err error
		r, err = p.try(ctx, head, body, size, binary)
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
func (p *Pipeline) try(ctx context.Context, head string, body io.ReaderAt, size int64, binary bool) (*request, error) {
	s, err := p.reserve(ctx)
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
	if n := int64(s.c.inFlight()); n > p.maxInFlight.Load() {
		p.maxInFlight.Store(n) // racy max: good enough for a test's evidence
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

// reserve waits for a token and takes a place on the least loaded slot,
// which then has fewer than Depth requests.
func (p *Pipeline) reserve(ctx context.Context) (*slot, error) {
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		<-p.tokens
		return nil, p.cfg.Closed
	}
	best := p.slots[0]
	for _, s := range p.slots[1:] {
		if s.load < best.load {
			best = s
		}
	}
	best.load++
	return best, nil
}

func (p *Pipeline) unreserve(s *slot) {
	p.mu.Lock()
	s.load--
	p.mu.Unlock()
	<-p.tokens
}

// Close makes later calls fail and logs out of every idle connection,
// each within LogoutTimeout; a busy one is closed at once, failing its
// requests with a temporary error.
func (p *Pipeline) Close() {
	p.mu.Lock()
	p.closed = true
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
