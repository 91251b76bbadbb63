package imap

import (
	"context"
	"errors"
	"sync"
)

// errClosed is returned by calls made after Close.
var errClosed = errors.New("imap target closed")

// A pool hands out at most cap(slots) connections, one caller at a time
// each. A slot is held from acquire to release whether or not its
// connection exists yet, so callers dial lazily and never exceed the
// limit.
type pool struct {
	slots chan struct{}

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

func newPool(size int) *pool {
	return &pool{slots: make(chan struct{}, size)}
}

// acquire waits for a free slot and returns its idle connection, or nil
// when the caller must dial one. It returns ctx.Err() when ctx ends first
// and errClosed after close.
func (p *pool) acquire(ctx context.Context) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		<-p.slots
		return nil, errClosed
	}
	n := len(p.idle)
	if n == 0 {
		return nil, nil
	}
	c := p.idle[n-1]
	p.idle = p.idle[:n-1]
	return c, nil
}

// release frees the slot; c (possibly nil) is kept for the next caller
// when it is alive, and closed otherwise.
func (p *pool) release(c *conn) {
	p.mu.Lock()
	keep := c.alive() && !p.closed
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !keep {
		c.close()
	}
	<-p.slots
}

// close stops handing out connections and returns the idle ones; a
// connection in use is closed when it is released.
func (p *pool) close() []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	return idle
}
