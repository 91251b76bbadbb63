package migrate

import (
	"context"
	"slices"
	"time"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// recoverer is the recover stage, before any message is read: it resolves
// the pending records a killed run left. A message the server holds is
// committed with its UID; one it does not hold is forgotten, and its
// source message will be read and appended again.
type recoverer struct{ r *run }

func (rc *recoverer) recoverPending(ctx context.Context) error {
	if rc.r.opts.DryRun {
		return nil
	}
	pending, err := rc.r.m.State.Pending()
	if err != nil {
		return err // names the state
	}
	if err := rc.settle(ctx, pending); err != nil {
		return err
	}
	read := map[string]bool{} // folders read afresh: once is enough
	for _, k := range pending {
		if err := rc.resolve(ctx, k, !read[k.Folder]); err != nil {
			return err
		}
		read[k.Folder] = true
	}
	return nil
}

// settle waits, when there are pending records, for the server to finish
// storing what the run that left them sent: that run may have died
// moments ago with whole APPENDs on their way, and those must be seen as
// stored, not appended again. That run died before this one started, so
// waiting from now is enough. (A record's time says when it was begun,
// not when its APPEND went out, so it cannot tell an old record from a
// fresh APPEND.)
func (rc *recoverer) settle(ctx context.Context, pending []state.KeyRecord) error {
	if len(pending) == 0 {
		return nil
	}
	rc.r.opts.Logger.Debug("waiting for the target to settle before resolving pending messages",
		"pending", len(pending), "wait", rc.r.opts.Settle)
	rc.r.event(Event{Kind: EventSettling, Count: len(pending), Wait: rc.r.opts.Settle})
	var folders []string
	for _, k := range pending {
		if !slices.Contains(folders, k.Folder) {
			folders = append(folders, k.Folder)
		}
	}
	start := time.Now()
	err := waitQuiet(ctx, rc.r.m.Target, &rc.r.opts, folders)
	rc.r.event(Event{Kind: EventSettled, Count: len(pending), Wait: time.Since(start)})
	return err
}

// resolve looks for the copy of a pending record on the server (reading
// its folder afresh when fresh), then commits or forgets the record.
func (rc *recoverer) resolve(ctx context.Context, k state.KeyRecord, fresh bool) error {
	var uid uint32
	var found bool
	err := rc.r.opts.retryTarget(ctx, "resolving a pending message", nil, func(again bool) (err error) {
		// A failed read may have left the folder half known.
		uid, found, err = rc.r.index.findOwn(ctx, k, recordIdentity(k), fresh || again)
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		return rc.r.m.State.Forget(ctx, k) // names the state
	}
	k.Pending, k.UID = false, uid
	rec := state.RefRecord{State: state.RefCopied, Key: k.Key, BodyHash: k.BodyHash, RefTag: k.RefTag, Folder: k.Folder,
		UID: uid, FirstSeen: k.At, Done: time.Now()}
	if err := rc.r.m.State.Commit(ctx, k, k.Source, k.RefID, rec); err != nil {
		return err // names the state
	}
	rc.r.count(&rc.r.rep.Recovered, 1)
	return nil
}

// recordIdentity is the identity of the message a key record stands for,
// as far as the record tells it: its munged form too when the record is
// pending and has one (state.KeyRecord.AltKey).
func recordIdentity(k state.KeyRecord) identity.ID {
	id := identity.ID{Key: k.Key, BodyHash: k.BodyHash, Size: k.Size, ServerSize: k.Size}
	id.MessageID, id.ContentHash = identity.ParseKey(k.Key)
	if k.AltKey != "" {
		id.Munged = identity.Form{Key: k.AltKey, BodyHash: k.AltBodyHash}
		id.Munged.MessageID, id.Munged.ContentHash = identity.ParseKey(k.AltKey)
	}
	return id
}

// waitQuiet waits Options.Settle, and when t can report folder status,
// until folders have not changed for Options.Settle (a busy server takes
// longer to store what it was sent), at most settleRounds times
// Options.Settle. The recover stage waits so for a killed run's APPENDs,
// the upload stage for a failed APPEND's.
func waitQuiet(ctx context.Context, t target.Target, o *Options, folders []string) error {
	st, ok := t.(target.Statuser)
	if !ok {
		return retry.Sleep(ctx, o.Settle)
	}
	start := time.Now()
	quietSince := start
	prev, err := statuses(ctx, st, folders)
	for err == nil {
		if time.Since(quietSince) >= o.Settle {
			return nil
		}
		if time.Since(start) >= settleRounds*o.Settle {
			o.Logger.Warn("the target's folders are still changing; looking for the messages anyway",
				"folders", folders, "waited", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if err = retry.Sleep(ctx, max(o.Settle/10, time.Millisecond)); err != nil {
			return err
		}
		var cur []target.FolderStatus
		if cur, err = statuses(ctx, st, folders); err == nil && !slices.Equal(cur, prev) {
			prev, quietSince = cur, time.Now()
		}
	}
	if ClassOf(err) == ClassInterrupted {
		return err
	}
	// Status failed: fall back to the fixed wait.
	o.Logger.Warn("cannot read folder status while settling", "error", err)
	return retry.Sleep(ctx, o.Settle-time.Since(start))
}

// settleRounds bounds waitQuiet, in Options.Settle: mail delivered to a
// folder all the while must not stall the run for ever.
const settleRounds = 10

// statuses reads the status of each folder.
func statuses(ctx context.Context, st target.Statuser, folders []string) ([]target.FolderStatus, error) {
	out := make([]target.FolderStatus, len(folders))
	for i, f := range folders {
		s, err := st.Status(ctx, f)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
