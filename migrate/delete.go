package migrate

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// deleteCopied removes from each source with a DeletePolicy the messages
// that policy lets go. It runs only after a run that ended without error,
// when every commit is durable, and never in a dry run.
func (r *run) deleteCopied(ctx context.Context) error {
	if r.opts.DryRun {
		return nil
	}
	for i := range r.m.Sources {
		spec := &r.m.Sources[i]
		if spec.Delete == nil {
			continue
		}
		if err := r.deleteFrom(ctx, spec); err != nil {
			return err
		}
	}
	return nil
}

// deleteFrom deletes from one source, reconnecting after transient errors.
// A failed attempt deletes nothing more than the server acknowledged: a
// POP3 session that ends without an acknowledged QUIT is rolled back.
func (r *run) deleteFrom(ctx context.Context, spec *SourceSpec) error {
	done := map[string]state.RefRecord{}
	err := r.m.State.Refs(spec.Name, func(id string, rec state.RefRecord) error {
		done[id] = rec
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if len(done) == 0 {
		return nil
	}
	r.opts.Logger.Info("deleting copied messages from the source", "source", spec.Name,
		"keep", spec.Delete.KeepFor)
	// The report counts what the last attempt found, once per source.
	var kept, unconfirmed int
	defer func() {
		r.mu.Lock()
		r.rep.DeleteKept += kept
		r.rep.DeleteUnconfirmed += unconfirmed
		r.mu.Unlock()
	}()
	for attempt := 0; ; attempt++ {
		var err error
		kept, unconfirmed, err = r.deleteOnce(ctx, spec, done)
		if err == nil || ClassOf(err) != ClassTransient {
			return err
		}
		if attempt >= r.opts.Reconnects {
			return &ConnectError{What: "source " + spec.Name,
				Err: fmt.Errorf("deleting copied messages: gave up after %d attempts: %w", attempt+1, err)}
		}
		r.opts.Logger.Warn("deleting copied messages: retrying", "source", spec.Name, "error", err)
		if err := sleep(ctx, backoff(attempt, r.opts.Backoff, r.opts.MaxBackoff)); err != nil {
			return err
		}
	}
}

// deleteOnce lists the source in a first session, confirms each candidate
// against the target with no session open (that may take a while), and
// deletes the confirmed ones in a second session.
// It returns how many listed messages were not due yet (kept) and how many
// the target did not hold as recorded (unconfirmed).
func (r *run) deleteOnce(ctx context.Context, spec *SourceSpec, done map[string]state.RefRecord) (kept, unconfirmed int, err error) {
	listed, err := r.listDone(ctx, spec, done)
	if err != nil {
		return 0, 0, err
	}
	cutoff := r.opts.Now().Add(-spec.Delete.KeepFor)
	fresh := map[string]bool{}
	var todo []source.Ref
	for _, ref := range listed {
		rec := done[ref.ID]
		if rec.Done.After(cutoff) {
			kept++
			continue
		}
		ok, err := r.confirmed(ctx, rec, fresh)
		if err != nil {
			return kept, unconfirmed, err
		}
		if !ok {
			unconfirmed++
			r.opts.Logger.Warn("not deleting a message the target does not hold as recorded",
				"source", spec.Name, "message", ref.ID, "folder", rec.Folder)
			continue
		}
		todo = append(todo, ref)
	}
	if len(todo) == 0 {
		return kept, unconfirmed, nil
	}
	src, err := spec.Open(ctx)
	if err != nil {
		return kept, unconfirmed, err
	}
	d, ok := src.(source.Deleter)
	if !ok {
		src.Close()
		return kept, unconfirmed, fmt.Errorf("source %s cannot delete messages", spec.Name)
	}
	deleted, err := d.Delete(ctx, todo)
	if err != nil {
		return kept, unconfirmed, fmt.Errorf("delete from %s: %w", spec.Name, err)
	}
	r.mu.Lock()
	r.rep.Deleted += len(deleted)
	r.mu.Unlock()
	r.opts.Logger.Info("deleted copied messages from the source", "source", spec.Name,
		"deleted", len(deleted), "kept", kept, "unconfirmed", unconfirmed)
	return kept, unconfirmed, nil
}

// listDone lists the source and returns the refs that the state holds as
// done.
func (r *run) listDone(ctx context.Context, spec *SourceSpec, done map[string]state.RefRecord) ([]source.Ref, error) {
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
func (r *run) confirmed(ctx context.Context, rec state.RefRecord, fresh map[string]bool) (bool, error) {
	recs, err := r.m.State.Lookup(rec.Key)
	if err != nil {
		return false, fmt.Errorf("state lookup: %w", err)
	}
	var k *state.KeyRecord
	for i := range recs {
		if !recs[i].Pending && recs[i].BodyHash == rec.BodyHash && recs[i].Folder == rec.Folder {
			k = &recs[i]
			break
		}
	}
	if k == nil {
		return false, nil
	}
	fi, err := r.index.folder(ctx, k.Folder, !fresh[k.Folder])
	if err != nil {
		return false, err
	}
	fresh[k.Folder] = true
	id := recordIdentity(*k)
	if e, ok := fi.byUID[k.UID]; ok && k.UID != 0 && e.Size == k.Size && sameMessageID(e, id) {
		return true, nil
	}
	_, found, err := r.index.locate(ctx, k.Folder, id, false)
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
