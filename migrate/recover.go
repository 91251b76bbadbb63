package migrate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/state"
)

// recoverPending resolves the pending records a killed run left: a message
// the server holds is committed with its UID; one it does not hold is
// forgotten, and its source message will be read and appended again.
func (r *run) recoverPending(ctx context.Context) error {
	if r.opts.DryRun {
		return nil
	}
	pending, err := r.m.State.Pending()
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := r.settle(ctx, pending); err != nil {
		return err
	}
	read := map[string]bool{} // folders read afresh: once is enough
	for _, k := range pending {
		if err := r.resolve(ctx, k, !read[k.Folder]); err != nil {
			return err
		}
		read[k.Folder] = true
	}
	return nil
}

// settle waits Options.Settle when a pending record may belong to a run
// that died moments ago: an APPEND it sent in full may still be being
// stored by the server, and must be seen as stored. The run that left the
// record died before this one started, so waiting from now is enough. A
// record older than recentPending cannot have an APPEND still in flight.
func (r *run) settle(ctx context.Context, pending []state.KeyRecord) error {
	for _, k := range pending {
		if time.Since(k.At) < recentPending {
			r.opts.Logger.Info("waiting for the target to settle before resolving pending messages",
				"pending", len(pending), "wait", r.opts.Settle)
			return sleep(ctx, r.opts.Settle)
		}
	}
	return nil
}

// recentPending bounds how long an APPEND can stay in flight: far above
// the target's watchdog for any message size.
const recentPending = 6 * time.Hour

func (r *run) resolve(ctx context.Context, k state.KeyRecord, fresh bool) error {
	id := identity.ID{Key: k.Key, BodyHash: k.BodyHash, Size: k.Size}
	if strings.HasPrefix(k.Key, "<") {
		id.MessageID = strings.TrimSuffix(strings.TrimPrefix(k.Key, "<"), ">")
	} else {
		id.ContentHash = k.Key
	}
	uid, found, err := r.index.locate(ctx, k.Folder, id, fresh)
	if err != nil {
		if ClassOf(err) == ClassTransient {
			return &ConnectError{What: "target", Err: err}
		}
		return err
	}
	if !found {
		if err := r.m.State.Forget(ctx, k); err != nil {
			return fmt.Errorf("state: %w", err)
		}
		return nil
	}
	k.Pending, k.UID = false, uid
	rec := state.RefRecord{State: state.RefCopied, Key: k.Key, BodyHash: k.BodyHash, Folder: k.Folder,
		UID: uid, FirstSeen: k.At, Done: time.Now()}
	if err := r.m.State.Commit(ctx, k, k.Source, k.RefID, rec); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	r.mu.Lock()
	r.rep.Recovered++
	r.mu.Unlock()
	return nil
}
