package migrate

import (
	"context"
	"errors"
	"time"

	"github.com/mailferry/mailferry/state"
)

// committer is the commit stage: one goroutine that commits what the
// uploaders hand it, a group of messages in one transaction, and then
// releases them.
type committer struct {
	r    *run
	in   chan commitReq
	done chan struct{} // closed when loop has stopped
}

// A commitReq is a message in the target, waiting to be committed.
type commitReq struct {
	it   *item
	op   state.CommitOp
	kind EventKind
}

func newCommitter(r *run, queue int) *committer {
	return &committer{r: r, in: make(chan commitReq, queue), done: make(chan struct{})}
}

// errCommitterStopped is returned to an uploader whose message cannot be
// committed any more: the committer stopped on a state error.
var errCommitterStopped = errors.New("state: the committer has stopped")

// commit hands the item, in the target as uid, to the committer. It does
// not wait for the commit: until it is durable the pending record stands
// for it, and a crash meanwhile is resolved by asking the target. It does
// not give up when the run is interrupted either: the message is in the
// target.
func (c *committer) commit(it *item, uid uint32, st state.RefState, kind EventKind) error {
	c.r.index.claimCopy(it.folder, uid, it.id)
	c.r.index.madeCopy(it.folder, uid, it.id)
	k := it.pending
	k.Pending, k.UID = false, uid
	req := commitReq{it: it, kind: kind, op: state.CommitOp{Key: k, Source: it.spec.Name, RefID: it.ref.ID,
		Ref: state.RefRecord{State: st, Key: k.Key, BodyHash: k.BodyHash, RefTag: k.RefTag, Folder: k.Folder, UID: uid,
			FirstSeen: c.r.rep.Start, Done: time.Now()}}}
	select {
	case c.in <- req:
		return nil
	case <-c.done:
		it.release()
		return errCommitterStopped
	}
}

// close tells the committer that no more commits come.
func (c *committer) close() { close(c.in) }

// releaseLeft releases the items of commits that were never made (after
// close).
func (c *committer) releaseLeft() {
	for req := range c.in {
		req.it.release()
	}
}

// commitDelay is how long the committer waits for more commits to join a
// transaction. Commits are not waited on, so it costs no throughput.
const commitDelay = 20 * time.Millisecond

// maxCommitBatch bounds the commits of one transaction.
const maxCommitBatch = 1024

// loop commits what it is handed, in groups, until close. It commits even
// after the run was interrupted: those messages are in the target. A
// state error stops it and the job.
func (c *committer) loop() error {
	defer close(c.done)
	for {
		first, ok := <-c.in
		if !ok {
			return nil
		}
		batch, open := c.gather([]commitReq{first})
		if err := c.commitAll(batch); err != nil {
			return err
		}
		if !open {
			return nil
		}
	}
}

// commitAll commits batch in one transaction and releases its items,
// reporting them when the commit succeeded.
func (c *committer) commitAll(batch []commitReq) error {
	ops := make([]state.CommitOp, len(batch))
	for i, req := range batch {
		ops[i] = req.op
	}
	err := c.r.m.State.CommitAll(context.Background(), ops)
	for _, req := range batch {
		if err == nil {
			e := req.it.event(req.kind, nil)
			e.UID = req.op.Ref.UID
			c.r.event(e)
		}
		req.it.release()
	}
	return err // names the state
}

// gather adds to batch what arrives within commitDelay, up to
// maxCommitBatch. It reports whether the input is still open.
func (c *committer) gather(batch []commitReq) ([]commitReq, bool) {
	timer := time.NewTimer(commitDelay)
	defer timer.Stop()
	for len(batch) < maxCommitBatch {
		select {
		case req, ok := <-c.in:
			if !ok {
				return batch, false
			}
			batch = append(batch, req)
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}
