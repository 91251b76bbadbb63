package migrate

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// run is what the stages of one Migrator.Run share: the job, its
// options, where messages are on the target, the target's folders, and
// the report with the events that feed it. Each stage keeps its own state
// in its own type, in the file named after it.
type run struct {
	m       *Migrator
	opts    Options
	sources []SourceSpec // in the order they are read

	index  *indexCache     // where messages are on the target (locate.go)
	layout target.Layout   // how the target names folders (plan.go)
	names  *folderResolver // the target folder of each source folder (plan.go)
	limit  *limiter        // the bound on bytes sent to the target (limit.go); nil for none

	mu       sync.Mutex // guards what follows and serialises events
	rep      Report
	troubled map[string]bool // folders where something failed
}

// Run copies every message of every source that the state does not know
// as done. It returns the report and the error that stopped the job, if
// any; failed messages are in the report, not the error. Run may be called
// once per Migrator.
//
// The stages, in order: plan the target's folders (plan.go); recover
// what a killed run left pending (recover.go); read, prepare, upload and
// commit every message (pipeline); delete what the sources' policies let
// go (delete.go).
func (m *Migrator) Run(ctx context.Context) (*Report, error) {
	r := newRun(m.inReadingOrder())
	err := r.plan(ctx)
	if err == nil {
		err = (&recoverer{r}).recoverPending(ctx)
	}
	if err == nil {
		err = r.pipeline(ctx)
	}
	// Folders read while deleting were not compared message by message.
	compared := r.index.compared()
	if err == nil {
		err = (&deleter{r}).deleteCopied(ctx)
	}
	return r.finish(ctx, compared, err)
}

func newRun(m *Migrator) *run {
	r := &run{m: m, opts: m.Options, sources: m.Sources, troubled: map[string]bool{}}
	r.opts.applyDefaults()
	r.index = newIndexCache(m.Target, m.State)
	r.index.recheck = r.opts.Recheck
	r.limit = newLimiter(r.opts.MaxBytesPerSecond, time.Now, retry.Sleep)
	r.names = newFolderResolver(m.Target, &r.opts)
	r.rep.Start, r.rep.DryRun, r.rep.Recheck = time.Now(), r.opts.DryRun, r.opts.Recheck
	return r
}

// pipeline runs the stages that each message goes through, each in its
// goroutines:
//
//	read (one, over the sources in order; read.go): read, spool, identify, claim
//	  -> prepare (one; prepare.go): dedup against the state, one Begin for a batch
//	  -> upload (Uploaders; upload.go): dedup against the target folder, APPEND
//	  -> commit (one; commit.go): one Commit for a batch, then release the items
//
// Grouping Begins and Commits into few transactions keeps the state's
// disk flushes far fewer than the messages: the target's own flushes are
// what a run should wait for. Whether a message is new is decided in
// dedup.go, for every stage.
func (r *run) pipeline(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	queued := make(chan *item, r.opts.BeginBatch)
	work := make(chan *item, r.opts.Uploaders)
	dd := newDedup(r)
	rd := &reader{r: r, dedup: dd, mem: semaphore.NewWeighted(r.opts.MemoryBytes), out: queued}
	pr := &preparer{r: r, dedup: dd}
	cm := newCommitter(r, r.opts.Uploaders)
	up := &uploader{r: r, dedup: dd, committer: cm}
	g.Go(func() error {
		defer close(queued)
		return rd.readAll(gctx, r.sources)
	})
	g.Go(func() error {
		defer close(work)
		return pr.loop(gctx, queued, work)
	})
	var uploaders sync.WaitGroup
	for range r.opts.Uploaders {
		uploaders.Add(1)
		g.Go(func() error {
			defer uploaders.Done()
			return up.loop(gctx, work)
		})
	}
	g.Go(cm.loop)
	g.Go(func() error {
		uploaders.Wait()
		cm.close()
		return nil
	})
	err := g.Wait()
	// Items left behind by stages that stopped early. Those past prepare
	// have a pending record: the next run asks the target about them.
	drain(queued, work)
	cm.releaseLeft()
	return err
}

// finish records the run in the state and completes the report.
func (r *run) finish(ctx context.Context, compared []string, err error) (*Report, error) {
	r.rep.End = time.Now()
	r.rep.Substitutes = r.names.substitutes()
	if r.opts.DryRun {
		return &r.rep, err
	}
	bg := context.WithoutCancel(ctx)
	if err == nil {
		err = r.markCompared(bg, compared)
	}
	run := state.Run{Start: r.rep.Start, End: r.rep.End, Copied: r.rep.Copied, Present: r.rep.Present,
		Duplicates: r.rep.Duplicates, Failed: r.rep.Failed(), Bytes: r.rep.Bytes, Result: resultOf(err, &r.rep)}
	if herr := r.m.State.AddRun(bg, run); herr != nil && err == nil {
		err = herr
	}
	return &r.rep, err
}

// markCompared records the folders whose every message this run went
// through without trouble: they have been compared with the server once,
// and later runs trust the state for them.
func (r *run) markCompared(ctx context.Context, compared []string) error {
	var err error
	for _, f := range compared {
		if !r.troubled[f] {
			if ferr := r.m.State.SetFolder(ctx, f, state.FolderRecord{Indexed: true}); ferr != nil {
				err = ferr
			}
		}
	}
	return err
}

func resultOf(err error, rep *Report) string {
	switch {
	case err != nil && ClassOf(err) == ClassInterrupted:
		return "interrupted"
	case err != nil:
		return "error: " + err.Error()
	case rep.Failed() > 0:
		return "done with failures"
	}
	return "done"
}

// event updates the report and passes e on, one event at a time.
func (r *run) event(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Kind {
	case EventCopied:
		r.rep.Copied++
		r.rep.Bytes += e.Bytes
	case EventRestored:
		r.rep.Restored++
		r.rep.RestoredBytes += e.Bytes
	case EventFiltered:
		r.rep.Filtered++
	case EventPresent:
		r.rep.Present++
	case EventDuplicate:
		r.rep.Duplicates++
	case EventVanished:
		r.rep.Vanished++
	case EventFailed:
		r.troubled[e.Folder] = true
		r.rep.Failures = append(r.rep.Failures, Failure{Source: e.Source, RefID: e.Ref.ID,
			Folder: e.Folder, Reason: e.Err.Error()})
	}
	if r.m.Event != nil {
		r.m.Event(e)
	}
}

// holds reports whether folder holds the message uid (indexCache.holds),
// trying a failed read of the folder again.
func (r *run) holds(ctx context.Context, folder string, uid uint32, key, bodyHash string, retried func(error)) (held bool, err error) {
	err = r.opts.retryTarget(ctx, "index", retried, func(bool) (err error) {
		held, err = r.index.holds(ctx, folder, uid, key, bodyHash)
		return err
	})
	return held, err
}

// count adds n to a counter of the report.
func (r *run) count(counter *int, n int) {
	r.mu.Lock()
	*counter += n
	r.mu.Unlock()
}

// An item is one message read from a source, on its way to the target.
type item struct {
	spec   *SourceSpec
	ref    source.Ref
	folder string
	sp     *spool
	id     identity.ID
	weight int64
	mem    *semaphore.Weighted
	claim  claimKey // the claims key this item holds, when claims is set
	claims *claims  // where it holds it
	// pending is the record Begun for the item before its APPEND.
	pending state.KeyRecord
	// redo marks a message that the state records as done but whose
	// copy the target no longer holds (Options.Recheck): appended, it
	// is reported restored.
	redo bool
}

// release frees what the item holds: its spool, its memory, its claim.
func (it *item) release() {
	it.sp.Close()
	it.mem.Release(it.weight)
	if it.claims != nil {
		it.claims.release(it.claim)
	}
}

// event is an event of kind about the item, with err (may be nil).
func (it *item) event(kind EventKind, err error) Event {
	return Event{Kind: kind, Source: it.spec.Name, Ref: it.ref, Folder: it.folder, Bytes: it.sp.Size(), Err: err,
		MessageID: it.id.MessageID}
}

func releaseAll(items []*item) {
	for _, it := range items {
		it.release()
	}
}

// drain releases the items left in closed channels.
func drain(chans ...chan *item) {
	for _, ch := range chans {
		for it := range ch {
			it.release()
		}
	}
}
