package migrate

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// deleter is the delete stage, the last of a run: it removes from each
// source with a DeletePolicy the messages that policy lets go. It runs
// only after a run that ended without error, when every commit is
// durable, and never in a dry run.
type deleter struct{ r *run }

func (d *deleter) deleteCopied(ctx context.Context) error {
	if d.r.opts.DryRun {
		return nil
	}
	for i := range d.r.sources {
		spec := &d.r.sources[i]
		if spec.Delete == nil {
			continue
		}
		if err := d.deleteFrom(ctx, spec); err != nil {
			return err
		}
	}
	return nil
}

// deleteFrom deletes from one source, reconnecting after transient errors.
// A failed attempt deletes nothing more than the server acknowledged: a
// POP3 session that ends without an acknowledged QUIT is rolled back.
func (d *deleter) deleteFrom(ctx context.Context, spec *SourceSpec) error {
	done := map[string]state.RefRecord{}
	err := d.r.m.State.Refs(spec.Name, func(id string, rec state.RefRecord) error {
		done[id] = rec
		return nil
	})
	if err != nil {
		return err // names the state
	}
	if len(done) == 0 {
		return nil
	}
	d.r.opts.Logger.Info("deleting copied messages from the source", "source", spec.Name,
		"keep", spec.Delete.KeepFor)
	// The report counts what the last attempt found, once per source.
	var kept, unconfirmed int
	defer func() {
		d.r.count(&d.r.rep.DeleteKept, kept)
		d.r.count(&d.r.rep.DeleteUnconfirmed, unconfirmed)
	}()
	p := d.r.opts.policy(d.r.opts.Reconnects+1, func(err error) {
		d.r.opts.Logger.Warn("deleting copied messages: retrying", "source", spec.Name, "error", err)
	})
	err = retry.Do(ctx, p, func(int) (err error) {
		kept, unconfirmed, err = d.deleteOnce(ctx, spec, done)
		return err
	})
	return gaveUp("source "+spec.Name, "deleting copied messages:", err)
}

// deleteOnce lists the source in a first session, confirms each candidate
// against the target with no session open (that may take a while), and
// deletes the confirmed ones in a second session.
// It returns how many listed messages were not due yet (kept) and how many
// the target did not hold as recorded (unconfirmed).
func (d *deleter) deleteOnce(ctx context.Context, spec *SourceSpec, done map[string]state.RefRecord) (kept, unconfirmed int, err error) {
	listed, err := d.listDone(ctx, spec, done)
	if err != nil {
		return 0, 0, err
	}
	todo, kept, unconfirmed, err := d.due(ctx, spec, listed, done)
	if err != nil || len(todo) == 0 {
		return kept, unconfirmed, err
	}
	src, err := spec.Open(ctx)
	if err != nil {
		return kept, unconfirmed, err
	}
	del, ok := src.(source.Deleter)
	if !ok {
		src.Close()
		return kept, unconfirmed, fmt.Errorf("source %s cannot delete messages", spec.Name)
	}
	deleted, err := del.Delete(ctx, todo)
	if err != nil {
		return kept, unconfirmed, fmt.Errorf("delete from %s: %w", spec.Name, err)
	}
	d.r.count(&d.r.rep.Deleted, len(deleted))
	d.r.opts.Logger.Info("deleted copied messages from the source", "source", spec.Name,
		"deleted", len(deleted), "kept", kept, "unconfirmed", unconfirmed)
	return kept, unconfirmed, nil
}

// due returns the listed messages that the policy lets go: kept long
// enough, and confirmed in the target. It counts those not due yet
// (kept) and those the target does not hold as recorded (unconfirmed).
func (d *deleter) due(ctx context.Context, spec *SourceSpec, listed []source.Ref, done map[string]state.RefRecord) (todo []source.Ref, kept, unconfirmed int, err error) {
	cutoff := d.r.opts.Now().Add(-spec.Delete.KeepFor)
	fresh := map[string]bool{}
	for _, ref := range listed {
		rec := done[ref.ID]
		if rec.Done.After(cutoff) {
			kept++
			continue
		}
		ok, err := d.confirmed(ctx, rec, fresh)
		if err != nil {
			return nil, kept, unconfirmed, err
		}
		if !ok {
			unconfirmed++
			d.r.opts.Logger.Warn("not deleting a message the target does not hold as recorded",
				"source", spec.Name, "message", ref.ID, "folder", rec.Folder)
			continue
		}
		todo = append(todo, ref)
	}
	return todo, kept, unconfirmed, nil
}

// listDone lists the source and returns the refs that the state holds as
// done.
func (d *deleter) listDone(ctx context.Context, spec *SourceSpec, done map[string]state.RefRecord) ([]source.Ref, error) {
	src, err := spec.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if _, ok := src.(source.Deleter); !ok {
		return nil, fmt.Errorf("source %s cannot delete messages", spec.Name)
	}
	var refs []source.Ref
	err = src.List(ctx, func(ref source.Ref) error {
		if _, ok := done[ref.ID]; ok {
			refs = append(refs, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", spec.Name, err)
	}
	return refs, nil
}

// confirmed reports whether the target holds the copy rec stands for: its
// key record is committed, and the server has that message, by the UID
// its APPEND returned (with the same Message-ID and size) or else found
// by Message-ID or content and compared. Each folder is read from the
// server once per run here (fresh notes which), so a copy removed from
// the target since it was made is not taken as there.
func (d *deleter) confirmed(ctx context.Context, rec state.RefRecord, fresh map[string]bool) (bool, error) {
	recs, err := d.r.m.State.Lookup(rec.Key)
	if err != nil {
		return false, err // names the state
	}
	var k *state.KeyRecord
	for i := range recs {
		if !recs[i].Pending && recs[i].BodyHash == rec.BodyHash && recs[i].RefTag == rec.RefTag && recs[i].Folder == rec.Folder {
			k = &recs[i]
			break
		}
	}
	if k == nil {
		return false, nil
	}
	fi, err := d.r.index.folder(ctx, k.Folder, !fresh[k.Folder])
	if err != nil {
		return false, err
	}
	fresh[k.Folder] = true
	id := recordIdentity(*k)
	if e, ok := fi.byUID[k.UID]; ok && k.UID != 0 && e.Size == k.Size && sameMessageID(e, id) {
		return true, nil
	}
	_, found, err := d.r.index.locate(ctx, k.Folder, id, false)
	return found, err
}

// sameMessageID reports whether a target entry has the Message-ID of id
// (or, like id, none), as sent or as a server that replaces 8-bit header
// bytes stores it (Cyrus munge8bit: each byte of 0x80 or more an 'X').
func sameMessageID(e target.Entry, id identity.ID) bool {
	got := identity.ParseMessageID(e.MessageID)
	if got == id.MessageID {
		return true
	}
	munged := string(identity.Munge([]byte(id.MessageID))) // one line: all header
	return munged != id.MessageID && got == munged
}
