package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
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

// settle waits, when there are pending records, for the server to finish
// storing what the run that left them sent: that run may have died
// moments ago with whole APPENDs on their way, and those must be seen as
// stored, not appended again. That run died before this one started, so
// waiting from now is enough. (A record's time says when it was begun,
// not when its APPEND went out, so it cannot tell an old record from a
// fresh APPEND.)
func (r *run) settle(ctx context.Context, pending []state.KeyRecord) error {
	if len(pending) == 0 {
		return nil
	}
	r.opts.Logger.Info("waiting for the target to settle before resolving pending messages",
		"pending", len(pending), "wait", r.opts.Settle)
	var folders []string
	for _, k := range pending {
		if !slices.Contains(folders, k.Folder) {
			folders = append(folders, k.Folder)
		}
	}
	return r.waitQuiet(ctx, folders)
}

// waitQuiet waits Options.Settle, and when the target can report folder
// status, until folders have not changed for Options.Settle (a busy
// server takes longer to store what it was sent), at most settleRounds
// times Options.Settle.
func (r *run) waitQuiet(ctx context.Context, folders []string) error {
	st, ok := r.m.Target.(target.Statuser)
	if !ok {
		return sleep(ctx, r.opts.Settle)
	}
	start := time.Now()
	quietSince := start
	prev, err := r.statuses(ctx, st, folders)
	for err == nil {
		if time.Since(quietSince) >= r.opts.Settle {
			return nil
		}
		if time.Since(start) >= settleRounds*r.opts.Settle {
			r.opts.Logger.Warn("the target's folders are still changing; looking for the messages anyway",
				"folders", folders, "waited", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if err = sleep(ctx, max(r.opts.Settle/10, time.Millisecond)); err != nil {
			return err
		}
		var cur []target.FolderStatus
		if cur, err = r.statuses(ctx, st, folders); err == nil && !slices.Equal(cur, prev) {
			prev, quietSince = cur, time.Now()
		}
	}
	if ClassOf(err) == ClassInterrupted {
		return err
	}
	// Status failed: fall back to the fixed wait.
	r.opts.Logger.Warn("cannot read folder status while settling", "error", err)
	return sleep(ctx, r.opts.Settle-time.Since(start))
}

// settleRounds bounds settle's wait, in Options.Settle: mail delivered to
// a folder all the while must not stall the run for ever.
const settleRounds = 10

// statuses reads the status of each folder.
func (r *run) statuses(ctx context.Context, st target.Statuser, folders []string) ([]target.FolderStatus, error) {
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

// findOwn looks for the copy that k's APPEND made: a message in k.Folder
// with k's identity that no committed record claims. With dedup: off an
// identical copy made for another source message is not this one.
func (r *run) findOwn(ctx context.Context, k state.KeyRecord, id identity.ID, fresh bool) (uint32, bool, error) {
	recs, err := r.m.State.Lookup(k.Key)
	if err != nil {
		return 0, false, fmt.Errorf("state lookup: %w", err)
	}
	claimed := map[uint32]bool{}
	for _, rec := range recs {
		if !rec.Pending && rec.Folder == k.Folder && rec.UID != 0 {
			claimed[rec.UID] = true
		}
	}
	return r.index.locateExcept(ctx, k.Folder, id, fresh, claimed)
}

// recordIdentity is the identity of the message a key record stands for,
// as far as the record tells it: its munged form too when the record is
// pending and has one (state.KeyRecord.AltKey).
func recordIdentity(k state.KeyRecord) identity.ID {
	body, _, _ := strings.Cut(k.BodyHash, " ") // without dedup: off's ref tag
	id := identity.ID{Key: k.Key, BodyHash: body, Size: k.Size, ServerSize: k.Size}
	id.MessageID, id.ContentHash = splitKey(k.Key)
	if k.AltKey != "" {
		id.Munged = identity.Form{Key: k.AltKey, BodyHash: k.AltBodyHash}
		id.Munged.MessageID, id.Munged.ContentHash = splitKey(k.AltKey)
	}
	return id
}

// splitKey returns the Message-ID of a "<message-id>" key, or the content
// hash that any other key is.
func splitKey(key string) (messageID, contentHash string) {
	if strings.HasPrefix(key, "<") {
		return strings.TrimSuffix(strings.TrimPrefix(key, "<"), ">"), ""
	}
	return "", key
}

func (r *run) resolve(ctx context.Context, k state.KeyRecord, fresh bool) error {
	var uid uint32
	var found bool
	err := r.retryTransient(ctx, nil, "resolving a pending message", func() (err error) {
		uid, found, err = r.findOwn(ctx, k, recordIdentity(k), fresh)
		fresh = true // a failed read may have left the folder half known
		return err
	})
	if err != nil {
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
