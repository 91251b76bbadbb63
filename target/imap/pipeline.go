package imap

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/target"
)

// A pipeline sends APPENDs with non-synchronizing literals (LITERAL+, RFC
// 7888) on up to pipeConns(Options.Connections) connections of its own,
// beside the go-imap pool, with up to Options.Pipeline commands in flight on each.
// A call holds a token from reserve until its request is answered, so at
// most pipeConns × Pipeline requests are in flight and a call waits
// (respecting its context) while all are.
type pipeline struct {
	t      *Target
	tokens chan struct{}

	mu     sync.Mutex
	slots  []*pslot
	closed bool

	// off is set when a connection cannot be opened without go-imap
	// (an unquotable LOGIN): every later call takes the go-imap path.
	off atomic.Bool
	// maxInFlight is the most requests seen in flight on one connection.
	maxInFlight atomic.Int64
}

// A pslot holds one pipelined connection, dialed lazily. Its lock (a
// one-token channel, so that waiting respects a context) is held while
// dialing and while writing one request.
type pslot struct {
	load int // reserved requests; guarded by pipeline.mu
	lock chan struct{}
	c    *pconn // guarded by lock
}

// pipeConns is how many connections the pipeline uses: half of
// Connections (at least one). A pipelined connection carries several
// times the APPENDs of a go-imap one, and the go-imap pool stays beside
// it for folders, Index and Fetch, so the total stays near Connections
// (servers cap connections per user: Dovecot allows 10 by default).
func pipeConns(connections int) int {
	return max(1, connections/2)
}

// newPipeline returns a pipeline of conns connections with up to depth
// requests in flight on each. With depth 1 every request finds its
// connection idle and uses a synchronizing literal: such a pipeline needs
// no LITERAL+.
func newPipeline(t *Target, conns, depth int) *pipeline {
	p := &pipeline{t: t, tokens: make(chan struct{}, conns*depth)}
	for range conns {
		p.slots = append(p.slots, &pslot{lock: make(chan struct{}, 1)})
	}
	return p
}

// append runs one APPEND, repeating it on another connection only when
// none of it was sent; binary sends the message as a literal8 (RFC 3516),
// which the caller may set only when the server announces BINARY. It
// returns errUnsupported (wrapped) when the go-imap path must take the
// call; other errors are as appendSync's.
func (p *pipeline) append(ctx context.Context, folder string, msg target.Message, binary bool) (uint32, error) {
	if p.off.Load() {
		return 0, errUnsupported
	}
	head, err := appendHead(folder, msg)
	if err != nil {
		return 0, err
	}
	if err := checkBody(msg); err != nil {
		return 0, err
	}
	var r *preq
	final := false // the last error is not worth another call
	err = retry.Do(ctx, innerRetry(&final), func(attempt int) error {
		var err error
		r, err = p.try(ctx, head, msg, binary)
		switch {
		case err == nil, errors.Is(err, errAnswered):
			final = true
			return err
		case errors.Is(err, errUnsupported):
			p.off.Store(true)
			final = true
			return err
		case ctx.Err() != nil || !(errors.Is(err, errNotSent) || isTemporary(err)):
			final = true
			return err
		}
		p.t.opts.Logger.Debug("imap pipeline retry", "attempt", attempt+1, "err", err)
		return err
	})
	switch {
	case err == nil:
		return p.await(ctx, r)
	case errors.Is(err, errAnswered):
		return r.uid, r.err
	}
	return 0, exhausted(err)
}

// checkBody fails a body shorter than msg.Size before anything is sent.
func checkBody(msg target.Message) error {
	if msg.Size == 0 {
		return nil
	}
	var b [1]byte
	if n, _ := msg.Body.ReadAt(b[:], msg.Size-1); n != 1 {
		return fmt.Errorf("%w: fewer than %d octets", errBody, msg.Size)
	}
	return nil
}

// try reserves a place, dials when the slot has no live connection and
// sends the request. On error the reservation is released.
func (p *pipeline) try(ctx context.Context, head string, msg target.Message, binary bool) (*preq, error) {
	s, err := p.reserve(ctx)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	r := &preq{timeout: p.t.opts.appendTimeout(msg.Size), binary: binary, done: make(chan struct{})}
	r.release = func() { once.Do(func() { p.unreserve(s) }) }
	if err := p.sendOn(ctx, s, r, head, msg); err != nil {
		r.release()
		return r, err
	}
	return r, nil
}

func (p *pipeline) sendOn(ctx context.Context, s *pslot, r *preq, head string, msg target.Message) error {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.lock }()
	if !s.c.alive() {
		if s.c != nil {
			s.c.fail(temporary(errClosed))
		}
		sess, err := p.t.dialRaw(ctx)
		if err != nil {
			s.c = nil
			return err
		}
		s.c = newPconn(sess)
		p.t.opts.Logger.Debug("imap pipeline connected", "addr", p.t.opts.Addr)
	}
	err := s.c.send(ctx, r, head, msg.Body, msg.Size)
	if n := int64(s.c.inFlight()); n > p.maxInFlight.Load() {
		p.maxInFlight.Store(n) // racy max: good enough for a test's evidence
	}
	return err
}

// await waits for r's answer. A done ctx returns ctx.Err() and leaves r
// to finish in the background: its connection stays in sync and usable.
func (p *pipeline) await(ctx context.Context, r *preq) (uint32, error) {
	select {
	case <-r.done:
	case <-ctx.Done():
		select {
		case <-r.done:
		default:
			return 0, ctx.Err()
		}
	}
	if r.err != nil && asIMAP(r.err) == nil && ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return r.uid, r.err
}

// reserve waits for a token and takes a place on the least loaded slot,
// which then has fewer than Pipeline requests.
func (p *pipeline) reserve(ctx context.Context) (*pslot, error) {
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		<-p.tokens
		return nil, errClosed
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

func (p *pipeline) unreserve(s *pslot) {
	p.mu.Lock()
	s.load--
	p.mu.Unlock()
	<-p.tokens
}

// close makes later calls fail and logs out of every idle connection,
// each within logoutTimeout; a busy one is closed at once, failing its
// requests with a temporary error.
func (p *pipeline) close() {
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

func (p *pipeline) closeSlot(s *pslot) {
	timeout := min(logoutTimeout, p.t.opts.Timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	select {
	case s.lock <- struct{}{}:
		defer func() { <-s.lock }()
	case <-ctx.Done():
		return // a writer stuck that long is cut off by its watchdog
	}
	pc := s.c
	if pc == nil {
		return
	}
	if pc.alive() && pc.inFlight() == 0 {
		_ = pc.s.nc.SetWriteDeadline(time.Now().Add(timeout))
		_, _ = pc.s.bw.WriteString("Z LOGOUT\r\n")
		if pc.s.bw.Flush() == nil {
			select {
			case <-pc.done:
			case <-ctx.Done():
			}
		}
	}
	pc.fail(temporary(errClosed))
}
