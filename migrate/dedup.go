package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"github.com/mailferry/mailferry/state"
)

// dedup decides, in one place, whether a message needs copying, by the
// scope of Options.Dedup:
//
//   - claimKey (read stage): what no two uploaders may handle at once;
//   - copiedBefore (prepare stage): the state holds a committed copy;
//   - inTarget (upload stage): the target folder holds the message.
//
// With dedup: off every source message is copied once, whatever its
// content: only the state's record of that source message counts (the
// read stage skips messages done by an earlier run).
type dedup struct {
	r     *run
	scope Dedup

	mu        sync.Mutex
	dryCopied map[claimKey]bool // dry run: messages that would be copied
}

func newDedup(r *run) *dedup {
	return &dedup{r: r, scope: r.opts.Dedup, dryCopied: map[claimKey]bool{}}
}

// A claimKey names what may not be delivered twice at the same time: the
// message's identity within the dedup scope, or with dedup: off the
// source message itself.
type claimKey struct {
	source, refID string // dedup: off
	key, bodyHash string // dedup: account and folder
	folder        string // dedup: folder
}

func (d *dedup) claimKey(it *item) claimKey {
	switch d.scope {
	case DedupOff:
		return claimKey{source: it.spec.Name, refID: it.ref.ID}
	case DedupFolder:
		return claimKey{key: it.id.Key, bodyHash: it.id.BodyHash, folder: it.folder}
	}
	return claimKey{key: it.id.Key, bodyHash: it.id.BodyHash}
}

// copiedBefore returns the committed record of a copy of the message in
// the dedup scope, if the state holds one (in a dry run, found without a
// record when this run would have copied it). The reader claimed the
// item's key in source order, so an earlier copy from this run is
// committed by now.
//
// With Options.Recheck a record counts only when the target folder it
// names still holds its UID (as read at this run, or made by it).
func (d *dedup) copiedBefore(ctx context.Context, it *item) (rec state.KeyRecord, found bool, err error) {
	if d.scope == DedupOff {
		return rec, false, nil
	}
	recs, err := d.r.m.State.Lookup(it.id.Key)
	if err != nil {
		return rec, false, err // names the state
	}
	for _, rec := range recs {
		if rec.Pending || rec.BodyHash != it.id.BodyHash {
			continue
		}
		if d.scope == DedupFolder && rec.Folder != it.folder {
			continue
		}
		if d.r.opts.Recheck {
			held, err := d.r.holds(ctx, rec.Folder, rec.UID, rec.Key, rec.BodyHash, d.r.retried(it))
			if err != nil {
				return rec, false, err
			}
			if !held {
				continue
			}
		}
		return rec, true, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return rec, d.dryCopied[it.claim], nil
}

// wouldCopy remembers, in a dry run, a message that would be copied.
func (d *dedup) wouldCopy(it *item) {
	d.mu.Lock()
	d.dryCopied[it.claim] = true
	d.mu.Unlock()
}

// inTarget returns the UID of the message in its target folder, if the
// folder holds it already. A lookup that fails is tried again.
//
// With dedup: off only a message to redo (Options.Recheck) is looked
// for: a copy that no other source message's record claims, in this run
// or in the state.
func (d *dedup) inTarget(ctx context.Context, it *item) (uid uint32, found bool, err error) {
	if d.scope == DedupOff {
		if !it.redo {
			return 0, false, nil
		}
		err = d.r.opts.retryTarget(ctx, "index", d.r.retried(it), func(bool) (err error) {
			uid, found, err = d.r.index.findOwn(ctx, state.KeyRecord{Key: it.id.Key, Folder: it.folder}, it.id, false)
			if err != nil || !found {
				return err
			}
			found, err = d.r.index.claim(it.folder, uid, claimOf(it.id.Key, it.id.BodyHash, refTag(it.spec.Name, it.ref.ID)))
			return err
		})
		return uid, found, err
	}
	err = d.r.opts.retryTarget(ctx, "index", d.r.retried(it), func(bool) (err error) {
		uid, found, err = d.r.index.locate(ctx, it.folder, it.id, false)
		return err
	})
	return uid, found, err
}

// With dedup: off every source message is its own key record: an
// identical copy from another source message must not overwrite it. The
// record's RefTag names the source message (state.KeyRecord.RefTag).

// tagRef tags k as the record of one source message (dedup: off).
func tagRef(k *state.KeyRecord, source, refID string) {
	k.RefTag = refTag(source, refID)
}

// refTag names a source message in a key record of dedup: off.
func refTag(source, id string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	return hex.EncodeToString(sum[:8])
}
