package state

import (
	"context"
	"fmt"
	"runtime"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many requests share one transaction, and the queue.
const maxGroup = 4096

// A writeReq is one write waiting for the writer. apply must only put and
// delete: everything that can fail for a reason of its own (validation,
// encoding) is done by the caller before queuing, so that apply fails
// only when the transaction does, for every request of the group.
type writeReq struct {
	apply func(tx *bolt.Tx) error
	done  chan error // buffered: the writer never blocks on a gone caller
}

// write queues apply and waits until it is durable.
//
// If ctx ends first, write returns ctx's error, but a request already
// queued is still written: the caller must treat the outcome as unknown,
// as after a crash. A ctx already done writes nothing.
func (s *Store) write(ctx context.Context, op string, apply func(tx *bolt.Tx) error) error {
	if err := s.writeOrErr(ctx, apply); err != nil {
		return fmt.Errorf("state %s: %w", op, err)
	}
	return nil
}

func (s *Store) writeOrErr(ctx context.Context, apply func(tx *bolt.Tx) error) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{apply: apply, done: make(chan error, 1)}
	if err := s.enqueue(ctx, req); err != nil {
		return err
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue hands req to the writer unless the store is closed.
func (s *Store) enqueue(ctx context.Context, req *writeReq) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer runs until Close closes the queue: it takes every request queued
// while the previous group was being written, writes them in one
// transaction (one fsync) and answers each with the transaction's result.
func (s *Store) writer() {
	defer close(s.stopped)
	group := make([]*writeReq, 0, maxGroup)
	for req := range s.reqs {
		group = s.linger(s.gather(append(group[:0], req)))
		err := s.db.Update(func(tx *bolt.Tx) error {
			return applyAll(tx, group)
		})
		for i, r := range group {
			r.done <- err
			group[i] = nil
		}
	}
}

// gather appends to group the requests already queued, up to maxGroup.
func (s *Store) gather(group []*writeReq) []*writeReq {
	for len(group) < maxGroup {
		select {
		case req, ok := <-s.reqs:
			if !ok {
				return group
			}
			group = append(group, req)
		default:
			return group
		}
	}
	return group
}

// linger lets the callers answered last queue their next request before
// the next transaction starts: it yields the processor and gathers again
// for as long as yielding brings new requests. Without it, with callers
// that write in a loop, groups alternate between large and tiny ones (the
// callers of one group come back while a group of the few that arrived
// meanwhile is being written), which halves throughput. A yield with
// nothing else to run costs well under a microsecond.
func (s *Store) linger(group []*writeReq) []*writeReq {
	for len(group) < maxGroup {
		n := len(group)
		runtime.Gosched()
		if group = s.gather(group); len(group) == n {
			break
		}
	}
	return group
}

func applyAll(tx *bolt.Tx, group []*writeReq) error {
	for _, r := range group {
		if err := r.apply(tx); err != nil {
			return err
		}
	}
	return nil
}
