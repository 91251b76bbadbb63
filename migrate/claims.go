package migrate

import (
	"context"
	"sync"
)

// claims is a set of dedup keys held by items on their way to the target:
// the reader, wanting a key that an item still holds, waits until that
// item is released. The zero value is ready.
type claims struct {
	mu   sync.Mutex
	held map[claimKey]chan struct{}
}

// acquire waits until key is free and takes it, or returns ctx's error.
func (c *claims) acquire(ctx context.Context, key claimKey) error {
	for {
		c.mu.Lock()
		if c.held == nil {
			c.held = map[claimKey]chan struct{}{}
		}
		ch, busy := c.held[key]
		if !busy {
			c.held[key] = make(chan struct{})
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release frees key and wakes its waiters.
func (c *claims) release(key claimKey) {
	c.mu.Lock()
	ch := c.held[key]
	delete(c.held, key)
	c.mu.Unlock()
	close(ch)
}
