package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// claimKey names what may not be delivered twice at the same time: the
// message's identity within the dedup scope.
func (r *run) claimKey(it *item) string {
	switch r.opts.Dedup {
	case DedupOff:
		return "ref\x00" + it.spec.Name + "\x00" + it.ref.ID
	case DedupFolder:
		return it.id.Key + "\x00" + it.id.BodyHash + "\x00" + it.folder
	}
	return it.id.Key + "\x00" + it.id.BodyHash
}

func (r *run) eventOf(kind EventKind, it *item) Event {
	return Event{Kind: kind, Source: it.spec.Name, Ref: it.ref, Folder: it.folder, Bytes: it.sp.Size()}
}

// prepareLoop takes what the reader queued, as many items at once as are
// waiting (up to Batch), and passes on those that need an APPEND, each
// with its pending record durable.
func (r *run) prepareLoop(ctx context.Context, in <-chan *item, out chan<- *item) error {
	for {
		var batch []*item
		select {
		case it, ok := <-in:
			if !ok {
				return nil
			}
			batch = append(batch, it)
		case <-ctx.Done():
			return ctx.Err()
		}
	more:
		for len(batch) < r.opts.Batch {
			select {
			case it, ok := <-in:
				if !ok {
					break more
				}
				batch = append(batch, it)
			default:
				break more
			}
		}
		ready, err := r.prepare(ctx, batch)
		if err != nil {
			return err
		}
		for i, it := range ready {
			select {
			case out <- it:
			case <-ctx.Done():
				releaseAll(ready[i:])
				return ctx.Err()
			}
		}
	}
}

// refTag names a source message in a key record of dedup: off.
func refTag(source, id string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	return hex.EncodeToString(sum[:8])
}

func releaseAll(items []*item) {
	for _, it := range items {
		it.release()
	}
}

// prepare settles the items that the state shows copied already and
// records the others as pending, in one transaction. It owns batch: on
// error every item is released.
func (r *run) prepare(ctx context.Context, batch []*item) ([]*item, error) {
	var ready []*item
	var pending []state.KeyRecord
	for i, it := range batch {
		if r.opts.Dedup != DedupOff {
			done, err := r.copiedBefore(ctx, it)
			if err != nil {
				releaseAll(batch[i:])
				releaseAll(ready)
				return nil, err
			}
			if done {
				it.release()
				continue
			}
		}
		if !r.opts.DryRun {
			// The munged form goes with the pending record, so that a run
			// after a crash finds the copy of a server that stored that.
			it.pending = state.KeyRecord{Key: it.id.Key, BodyHash: it.id.BodyHash, Folder: it.folder,
				Pending: true, Size: it.id.ServerSize, Source: it.spec.Name, RefID: it.ref.ID, At: time.Now(),
				AltKey: it.id.Munged.Key, AltBodyHash: it.id.Munged.BodyHash}
			if r.opts.Dedup == DedupOff {
				// Every source message is its own record: an identical
				// copy from another ref must not overwrite it.
				it.pending.BodyHash += " " + refTag(it.spec.Name, it.ref.ID)
			}
			pending = append(pending, it.pending)
		}
		ready = append(ready, it)
	}
	if len(pending) > 0 {
		if err := r.m.State.BeginAll(ctx, pending); err != nil {
			releaseAll(ready)
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	return ready, nil
}

// copiedBefore reports whether the state holds a committed copy of the
// message in the dedup scope, and if so records the ref as a duplicate.
// The reader claimed the item's key in source order, so an earlier copy
// from this run is committed by now.
func (r *run) copiedBefore(ctx context.Context, it *item) (bool, error) {
	recs, err := r.m.State.Lookup(it.id.Key)
	if err != nil {
		return false, fmt.Errorf("state lookup: %w", err)
	}
	for _, rec := range recs {
		if rec.Pending || rec.BodyHash != it.id.BodyHash {
			continue
		}
		if r.opts.Dedup == DedupFolder && rec.Folder != it.folder {
			continue
		}
		return true, r.mark(ctx, it, state.RefDuplicate, rec.Folder, rec.UID, EventDuplicate)
	}
	r.mu.Lock()
	dry := r.dryCopied[it.claim]
	r.mu.Unlock()
	if dry {
		r.event(r.eventOf(EventDuplicate, it))
	}
	return dry, nil
}

// mark records a ref that needs no copy and reports it.
func (r *run) mark(ctx context.Context, it *item, st state.RefState, folder string, uid uint32, kind EventKind) error {
	if !r.opts.DryRun {
		rec := state.RefRecord{State: st, Key: it.id.Key, BodyHash: it.id.BodyHash, Folder: folder,
			UID: uid, FirstSeen: r.rep.Start, Done: time.Now()}
		if err := r.m.State.MarkRef(ctx, it.spec.Name, it.ref.ID, rec); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	r.event(r.eventOf(kind, it))
	return nil
}

// deliver copies one prepared message unless the target folder holds it
// already. It owns it: it releases it or hands it to the committer. It
// returns an error only when the job must stop; a message that fails
// alone is an event.
func (r *run) deliver(ctx context.Context, it *item) error {
	if r.opts.Dedup != DedupOff {
		var uid uint32
		var found bool
		err := r.retryTransient(ctx, it, "index", func() (err error) {
			uid, found, err = r.index.locate(ctx, it.folder, it.id, false)
			return err
		})
		if err != nil {
			it.release()
			return err
		}
		if found {
			if r.opts.DryRun {
				r.event(r.eventOf(EventPresent, it))
				it.release()
				return nil
			}
			return r.commit(it, uid, state.RefPresent, EventPresent)
		}
	}
	if r.opts.DryRun {
		r.mu.Lock()
		r.dryCopied[it.claim] = true
		r.mu.Unlock()
		r.event(r.eventOf(EventCopied, it))
		it.release()
		return nil
	}
	uid, err := r.append(ctx, it)
	if err != nil {
		defer it.release()
		if ClassOf(err) != ClassMessage {
			return err // the pending record stays: the next run asks the target
		}
		if ferr := r.m.State.Forget(context.WithoutCancel(ctx), it.pending); ferr != nil {
			return fmt.Errorf("state: %w", ferr)
		}
		e := r.eventOf(EventFailed, it)
		e.Err = err
		r.event(e)
		return nil
	}
	return r.commit(it, uid, state.RefCopied, EventCopied)
}

// systemFlags returns the flags that are system flags (`\Seen`, ...),
// without the keywords.
func systemFlags(flags []string) []string {
	var kept []string
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			kept = append(kept, f)
		}
	}
	return kept
}

// A commitReq is a message in the target, waiting to be committed.
type commitReq struct {
	it   *item
	op   state.CommitOp
	kind EventKind
}

// commit hands the item to the committer. It does not wait for the
// commit: until it is durable the pending record stands for it, and a
// crash meanwhile is resolved by asking the target. It does not give up
// when the run is interrupted either: the message is in the target.
func (r *run) commit(it *item, uid uint32, st state.RefState, kind EventKind) error {
	r.index.claimCopy(it.folder, uid, it.id)
	k := it.pending
	k.Pending, k.UID = false, uid
	req := commitReq{it: it, kind: kind, op: state.CommitOp{Key: k, Source: it.spec.Name, RefID: it.ref.ID,
		Ref: state.RefRecord{State: st, Key: k.Key, BodyHash: k.BodyHash, Folder: k.Folder, UID: uid,
			FirstSeen: r.rep.Start, Done: time.Now()}}}
	select {
	case r.commits <- req:
		return nil
	case <-r.committerDone:
		it.release()
		return fmt.Errorf("state: the committer has stopped")
	}
}

// commitDelay is how long the committer waits for more commits to join a
// transaction. Commits are not waited on, so it costs no throughput.
const commitDelay = 20 * time.Millisecond

// commitLoop commits what deliver hands it, in groups, until in closes.
// It commits even after the run was interrupted: those messages are in
// the target. A state error stops it and the job.
func (r *run) commitLoop(in <-chan commitReq) error {
	for {
		first, ok := <-in
		if !ok {
			return nil
		}
		batch, open := r.gather(in, []commitReq{first})
		ops := make([]state.CommitOp, len(batch))
		for i, c := range batch {
			ops[i] = c.op
		}
		err := r.m.State.CommitAll(context.Background(), ops)
		for _, c := range batch {
			if err == nil {
				r.event(r.eventOf(c.kind, c.it))
			}
			c.it.release()
		}
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		if !open {
			return nil
		}
	}
}

// gather adds to batch what arrives within commitDelay, up to a bound. It
// reports whether in is still open.
func (r *run) gather(in <-chan commitReq, batch []commitReq) ([]commitReq, bool) {
	timer := time.NewTimer(commitDelay)
	defer timer.Stop()
	for len(batch) < 1024 {
		select {
		case c, ok := <-in:
			if !ok {
				return batch, false
			}
			batch = append(batch, c)
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}

// append stores the message, retrying transient errors. Before each retry
// it asks the server whether the failed attempt landed after all, so that
// a connection cut after the server stored the message makes no copy.
func (r *run) append(ctx context.Context, it *item) (uint32, error) {
	date := it.ref.Date
	if date.IsZero() {
		date = it.id.Date
	}
	msg := target.Message{Body: it.sp, Size: it.sp.Size(), Flags: it.ref.Flags, Date: date}
	gate := r.gates.of(it.folder)
	for attempt := 0; ; attempt++ {
		gate.RLock()
		uid, err := r.m.Target.Append(ctx, it.folder, msg)
		gate.RUnlock()
		if kept := systemFlags(msg.Flags); ClassOf(err) == ClassMessage && len(kept) < len(msg.Flags) {
			// The server may refuse keywords (too many for the folder,
			// characters it does not take): keep the message, drop them.
			r.opts.Logger.Warn("keywords refused, appending without them", "source", it.spec.Name,
				"message", it.ref.ID, "folder", it.folder, "keywords", msg.Flags, "error", err)
			msg.Flags = kept
			attempt--
			continue
		}
		if err == nil || ClassOf(err) != ClassTransient {
			return uid, err
		}
		if attempt+1 >= r.opts.MaxAttempts {
			return 0, &ConnectError{What: "target", Err: fmt.Errorf("append gave up after %d attempts: %w", attempt+1, err)}
		}
		r.retried(it, err)
		if err := sleep(ctx, backoff(attempt, r.opts.Backoff, r.opts.MaxBackoff)); err != nil {
			return 0, err
		}
		if uid, found, err := r.recheck(ctx, it, gate); err != nil || found {
			return uid, err
		}
	}
}

// recheck asks the target whether a failed APPEND of it stored the message
// after all, once the server has finished storing what it was sent: a
// loaded server may still be writing the message when a quick look finds
// nothing, and a retry then makes a second copy. It holds the folder's
// gate, so that no APPEND of this run into the folder is in flight or
// starts meanwhile, and waits until the folder has not changed for
// Options.Settle, as after a crash.
func (r *run) recheck(ctx context.Context, it *item, gate *sync.RWMutex) (uint32, bool, error) {
	gate.Lock()
	defer gate.Unlock()
	if err := r.waitQuiet(ctx, []string{it.folder}); err != nil {
		return 0, false, err
	}
	return r.landed(ctx, it)
}

// folderGates holds a lock per target folder: APPENDs share it, a look
// for the message of a failed APPEND takes it alone.
type folderGates struct {
	mu sync.Mutex
	m  map[string]*sync.RWMutex
}

// of returns folder's lock.
func (g *folderGates) of(folder string) *sync.RWMutex {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]*sync.RWMutex{}
	}
	l, ok := g.m[folder]
	if !ok {
		l = &sync.RWMutex{}
		g.m[folder] = l
	}
	return l
}

// landed asks the target whether a failed APPEND of it stored the message
// after all. A lookup that fails is tried again, never taken for "not
// there": the message is appended again only when the server says it
// does not hold it.
func (r *run) landed(ctx context.Context, it *item) (uid uint32, found bool, err error) {
	err = r.retryTransient(ctx, it, "lookup before retrying an append", func() (err error) {
		uid, found, err = r.findOwn(ctx, it.pending, it.id, true)
		return err
	})
	return uid, found, err
}

// retryTransient calls fn until it returns nil or an error that is not
// transient, pausing with backoff after each transient error and
// reporting it as a retry of it (logging it when it is nil). After MaxAttempts transient errors it
// gives up with a ConnectError naming what.
func (r *run) retryTransient(ctx context.Context, it *item, what string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if ClassOf(err) != ClassTransient {
			return err
		}
		if attempt+1 >= r.opts.MaxAttempts {
			return &ConnectError{What: "target", Err: fmt.Errorf("%s gave up after %d attempts: %w", what, attempt+1, err)}
		}
		if it != nil {
			r.retried(it, err)
		} else {
			r.opts.Logger.Warn("retrying", "what", what, "error", err)
		}
		if err := sleep(ctx, backoff(attempt, r.opts.Backoff, r.opts.MaxBackoff)); err != nil {
			return err
		}
	}
}

// retried reports a transient error that the engine retries.
func (r *run) retried(it *item, err error) {
	e := r.eventOf(EventRetry, it)
	e.Err = err
	r.event(e)
}
