package migrate

import (
	"context"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// uploader is the upload stage, run by Options.Uploaders goroutines: it
// appends each prepared message to the target unless its folder holds it
// already, and hands it to the committer.
type uploader struct {
	r         *run
	dedup     *dedup
	committer *committer
	gates     folderGates // per target folder: APPENDs against a look after a failed one
}

// loop uploads the items of work until it closes or the job must stop.
func (u *uploader) loop(ctx context.Context, work <-chan *item) error {
	for it := range work {
		if err := u.upload(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

// upload copies one prepared message unless the target folder holds it
// already. It owns it: it releases it or hands it to the committer. It
// returns an error only when the job must stop; a message that fails
// alone is an event.
func (u *uploader) upload(ctx context.Context, it *item) error {
	uid, found, err := u.dedup.inTarget(ctx, it)
	switch {
	case err != nil:
		it.release()
		return err
	case u.r.opts.DryRun:
		u.dryRun(it, found)
		return nil
	case found:
		return u.committer.commit(it, uid, state.RefPresent, EventPresent)
	}
	uid, err = u.append(ctx, it)
	if err != nil {
		return u.failed(ctx, it, err)
	}
	return u.committer.commit(it, uid, state.RefCopied, copiedKind(it))
}

// dryRun reports what upload would do with it.
func (u *uploader) dryRun(it *item, present bool) {
	defer it.release()
	if present {
		u.r.event(it.event(EventPresent, nil))
		return
	}
	u.dedup.wouldCopy(it)
	u.r.event(it.event(copiedKind(it), nil))
}

// copiedKind is the event of an APPEND of it: a copy, or a restored one.
func copiedKind(it *item) EventKind {
	if it.redo {
		return EventRestored
	}
	return EventCopied
}

// failed settles an item whose APPEND failed: a message the server
// refused fails alone and its pending record goes; any other error stops
// the job, and the pending record stays for the next run to ask the
// target about.
func (u *uploader) failed(ctx context.Context, it *item, err error) error {
	defer it.release()
	if ClassOf(err) != ClassMessage {
		return err
	}
	if ferr := u.r.m.State.Forget(context.WithoutCancel(ctx), it.pending); ferr != nil {
		return ferr // names the state
	}
	u.r.event(it.event(EventFailed, err))
	return nil
}

// append stores the message, retrying transient errors (Options.MaxAttempts
// calls). Before each retry it asks the server whether the failed call
// landed after all, so that a connection cut after the server stored the
// message makes no copy.
func (u *uploader) append(ctx context.Context, it *item) (uint32, error) {
	msg := target.Message{Body: u.r.limit.reader(ctx, it.sp), Size: it.sp.Size(), Flags: it.ref.Flags, Date: internalDate(it)}
	gate := u.gates.of(it.folder)
	var uid uint32
	err := retry.Do(ctx, u.r.opts.policy(u.r.opts.MaxAttempts, u.r.retried(it)), func(attempt int) error {
		if attempt > 0 {
			// Errors of recheck are not transient: they end the retrying.
			landed, found, err := u.recheck(ctx, it, gate)
			if err != nil || found {
				uid = landed
				return err
			}
		}
		var err error
		uid, err = u.appendOnce(ctx, it, &msg, gate)
		return err
	})
	if err != nil {
		return 0, gaveUp("target", "append", err)
	}
	return uid, nil
}

// appendOnce sends one APPEND, and sends it again without the keywords
// when the server refuses the message and it has some: the server may
// refuse keywords (too many for the folder, characters it does not take),
// and the message is kept without them.
func (u *uploader) appendOnce(ctx context.Context, it *item, msg *target.Message, gate *sync.RWMutex) (uint32, error) {
	for {
		gate.RLock()
		uid, err := u.r.m.Target.Append(ctx, it.folder, *msg)
		gate.RUnlock()
		kept := systemFlags(msg.Flags)
		if ClassOf(err) != ClassMessage || len(kept) == len(msg.Flags) {
			return uid, err
		}
		u.r.opts.Logger.Warn("keywords refused, appending without them", "source", it.spec.Name,
			"message", it.ref.ID, "folder", it.folder, "keywords", msg.Flags, "error", err)
		msg.Flags = kept
	}
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

// recheck asks the target whether a failed APPEND of it stored the message
// after all, once the server has finished storing what it was sent: a
// loaded server may still be writing the message when a quick look finds
// nothing, and a retry then makes a second copy. It holds the folder's
// gate, so that no APPEND of this run into the folder is in flight or
// starts meanwhile, and waits until the folder has not changed for
// Options.Settle, as after a crash.
//
// A lookup that fails is tried again, never taken for "not there": the
// message is appended again only when the server says it does not hold
// it.
func (u *uploader) recheck(ctx context.Context, it *item, gate *sync.RWMutex) (uid uint32, found bool, err error) {
	gate.Lock()
	defer gate.Unlock()
	if err := waitQuiet(ctx, u.r.m.Target, &u.r.opts, []string{it.folder}); err != nil {
		return 0, false, err
	}
	err = u.r.opts.retryTarget(ctx, "lookup before retrying an append", u.r.retried(it), func(bool) (err error) {
		uid, found, err = u.r.index.findOwn(ctx, it.pending, it.id, true)
		return err
	})
	return uid, found, err
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
