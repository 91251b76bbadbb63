package migrate

import (
	"context"
	"time"

	"github.com/mailferry/mailferry/state"
)

// preparer is the prepare stage: it settles the messages that the state
// shows copied already (duplicates) and records the others as pending,
// durably, before their APPEND, a batch of them in one transaction.
type preparer struct {
	r     *run
	dedup *dedup
}

// loop takes what the reader queued, as many items at once as are
// waiting (up to Options.BeginBatch), and passes on those that need an
// APPEND, each with its pending record durable.
func (p *preparer) loop(ctx context.Context, in <-chan *item, out chan<- *item) error {
	for {
		var first *item
		select {
		case it, ok := <-in:
			if !ok {
				return nil
			}
			first = it
		case <-ctx.Done():
			return ctx.Err()
		}
		ready, err := p.prepare(ctx, p.gather(in, first))
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

// gather returns first with the items waiting in in, up to
// Options.BeginBatch in all.
func (p *preparer) gather(in <-chan *item, first *item) []*item {
	batch := []*item{first}
	for len(batch) < p.r.opts.BeginBatch {
		select {
		case it, ok := <-in:
			if !ok {
				return batch
			}
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// prepare settles the items that the state shows copied already and
// records the others as pending, in one transaction. It owns batch: on
// error every item is released.
func (p *preparer) prepare(ctx context.Context, batch []*item) ([]*item, error) {
	var ready []*item
	var pending []state.KeyRecord
	for i, it := range batch {
		done, err := p.duplicate(ctx, it)
		if err != nil {
			releaseAll(batch[i:])
			releaseAll(ready)
			return nil, err
		}
		if done {
			it.release()
			continue
		}
		if !p.r.opts.DryRun {
			it.pending = pendingRecord(it, p.r.opts.Dedup)
			pending = append(pending, it.pending)
		}
		ready = append(ready, it)
	}
	if len(pending) > 0 {
		if err := p.r.m.State.BeginAll(ctx, pending); err != nil {
			releaseAll(ready)
			return nil, err // names the state
		}
	}
	return ready, nil
}

// duplicate reports whether a copy of the message was made before (see
// dedup.copiedBefore), and if so records the ref as a duplicate.
func (p *preparer) duplicate(ctx context.Context, it *item) (bool, error) {
	rec, found, err := p.dedup.copiedBefore(ctx, it)
	if err != nil || !found {
		return false, err
	}
	if !p.r.opts.DryRun {
		ref := state.RefRecord{State: state.RefDuplicate, Key: it.id.Key, BodyHash: it.id.BodyHash,
			Folder: rec.Folder, UID: rec.UID, FirstSeen: p.r.rep.Start, Done: time.Now()}
		if err := p.r.m.State.MarkRef(ctx, it.spec.Name, it.ref.ID, ref); err != nil {
			return false, err // names the state
		}
	}
	e := it.event(EventDuplicate, nil)
	e.UID = rec.UID
	p.r.event(e)
	return true, nil
}

// pendingRecord is the key record Begun for it before its APPEND. The
// munged form goes with it, so that a run after a crash finds the copy
// of a server that stored that.
func pendingRecord(it *item, scope Dedup) state.KeyRecord {
	k := state.KeyRecord{Key: it.id.Key, BodyHash: it.id.BodyHash, Folder: it.folder,
		Pending: true, Size: it.id.ServerSize, Source: it.spec.Name, RefID: it.ref.ID, At: time.Now(),
		AltKey: it.id.Munged.Key, AltBodyHash: it.id.Munged.BodyHash}
	if scope == DedupOff {
		tagRef(&k, it.spec.Name, it.ref.ID)
	}
	return k
}
