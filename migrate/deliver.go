package migrate

import (
	"context"
	"fmt"
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

// deliver decides what to do with one message and does it. The item holds
// the claim of its key, so no other worker handles the same message
// meanwhile. It returns an error only when the job must stop; a message
// that fails alone is an event.
func (r *run) deliver(ctx context.Context, it *item) error {
	key := it.claim
	r.mu.Lock()
	r.folders[it.folder] = struct{}{}
	r.mu.Unlock()

	if r.opts.Dedup != DedupOff {
		done, err := r.dedup(ctx, it, key)
		if done || err != nil {
			return err
		}
	}
	if r.opts.DryRun {
		r.mu.Lock()
		r.dryCopied[key] = true
		r.mu.Unlock()
		r.event(r.eventOf(EventCopied, it))
		return nil
	}
	return r.copy(ctx, it)
}

func (r *run) eventOf(kind EventKind, it *item) Event {
	return Event{Kind: kind, Source: it.spec.Name, Ref: it.ref, Folder: it.folder, Bytes: it.sp.Size()}
}

// dedup reports whether the message is already where it should be: copied
// by an earlier message (state), or found in the target folder (index). It
// records the finding for the ref.
func (r *run) dedup(ctx context.Context, it *item, key string) (bool, error) {
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
	dry := r.dryCopied[key]
	r.mu.Unlock()
	if dry {
		r.event(r.eventOf(EventDuplicate, it))
		return true, nil
	}
	uid, found, err := r.index.locate(ctx, it.folder, it.id, false)
	if err != nil {
		return false, err
	}
	if found {
		return true, r.mark(ctx, it, state.RefPresent, it.folder, uid, EventPresent)
	}
	return false, nil
}

// mark records a ref that needs no copy and reports it.
func (r *run) mark(ctx context.Context, it *item, st state.RefState, folder string, uid uint32, kind EventKind) error {
	if !r.opts.DryRun {
		now := time.Now()
		rec := state.RefRecord{State: st, Key: it.id.Key, BodyHash: it.id.BodyHash, Folder: folder,
			UID: uid, FirstSeen: r.rep.Start, Done: now}
		if err := r.m.State.MarkRef(ctx, it.spec.Name, it.ref.ID, rec); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	}
	r.event(r.eventOf(kind, it))
	return nil
}

// copy appends the message exactly once: pending record, append, commit.
func (r *run) copy(ctx context.Context, it *item) error {
	k := state.KeyRecord{Key: it.id.Key, BodyHash: it.id.BodyHash, Folder: it.folder, Pending: true,
		Size: it.sp.Size(), Source: it.spec.Name, RefID: it.ref.ID, At: time.Now()}
	if err := r.m.State.Begin(ctx, k); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	uid, err := r.append(ctx, it)
	if err != nil {
		if ClassOf(err) != ClassMessage {
			return err // the pending record stays: the next run asks the server
		}
		if ferr := r.m.State.Forget(context.WithoutCancel(ctx), k); ferr != nil {
			return fmt.Errorf("state: %w", ferr)
		}
		e := r.eventOf(EventFailed, it)
		e.Err = err
		r.event(e)
		return nil
	}
	// The message is in the target: record it even if the run is being
	// interrupted, so the next run need not ask the server.
	k.Pending, k.UID = false, uid
	rec := state.RefRecord{State: state.RefCopied, Key: k.Key, BodyHash: k.BodyHash, Folder: k.Folder,
		UID: uid, FirstSeen: r.rep.Start, Done: time.Now()}
	if err := r.m.State.Commit(context.WithoutCancel(ctx), k, it.spec.Name, it.ref.ID, rec); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	r.event(r.eventOf(EventCopied, it))
	return nil
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
	for attempt := 0; ; attempt++ {
		uid, err := r.m.Target.Append(ctx, it.folder, msg)
		if err == nil || ClassOf(err) != ClassTransient {
			return uid, err
		}
		if attempt+1 >= r.opts.MaxAttempts {
			return 0, &ConnectError{What: "target", Err: fmt.Errorf("append gave up after %d attempts: %w", attempt+1, err)}
		}
		e := r.eventOf(EventRetry, it)
		e.Err = err
		r.event(e)
		if err := sleep(ctx, backoff(attempt, r.opts.Backoff, r.opts.MaxBackoff)); err != nil {
			return 0, err
		}
		uid, found, err := r.index.locate(ctx, it.folder, it.id, true)
		if found {
			return uid, nil
		}
		if err != nil && ClassOf(err) != ClassTransient {
			return 0, err
		}
	}
}
