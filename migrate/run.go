package migrate

import (
	"context"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// An item is one message read from a source, on its way to the target.
type item struct {
	spec   *SourceSpec
	ref    source.Ref
	folder string
	sp     *spool
	id     identity.ID
	weight int64
	mem    *semaphore.Weighted
	claim  string  // the claims key this item holds, "" for none
	claims *claims // where it holds it
	// pending is the record Begun for the item before its APPEND.
	pending state.KeyRecord
}

// release frees what the item holds: its spool, its memory, its claim.
func (it *item) release() {
	it.sp.Close()
	it.mem.Release(it.weight)
	if it.claim != "" {
		it.claims.release(it.claim)
	}
}

// run is the state of one Migrator.Run.
type run struct {
	m      *Migrator
	opts   Options
	mem    *semaphore.Weighted
	claims claims
	index  *indexCache

	commits       chan<- commitReq // to the committer
	committerDone chan struct{}    // closed when the committer has stopped

	layout target.Layout // how the target names folders
	names  *folderResolver
	gates  folderGates // per target folder: APPENDs against a look after a failed one
	// comparedFolders are the folders the copying read from the target.
	comparedFolders []string

	mu        sync.Mutex // guards what follows and serialises events
	rep       Report
	dryCopied map[string]bool // dry run: keys that would be copied
	troubled  map[string]bool // folders where something failed
}

// Run copies every message of every source that the state does not know
// as done. It returns the report and the error that stopped the job, if
// any; failed messages are in the report, not the error. Run may be called
// once per Migrator.
func (m *Migrator) Run(ctx context.Context) (*Report, error) {
	m = m.inReadingOrder()
	r := &run{m: m, opts: m.Options, dryCopied: map[string]bool{},
		troubled: map[string]bool{}}
	r.opts.applyDefaults()
	r.mem = semaphore.NewWeighted(r.opts.MemoryBytes)
	r.index = newIndexCache(m.Target, m.State)
	r.names = newFolderResolver(r)
	r.rep.Start, r.rep.DryRun = time.Now(), r.opts.DryRun

	err := r.readLayout(ctx)
	if err == nil {
		err = r.recoverPending(ctx)
	}
	if err == nil {
		err = r.pipeline(ctx)
	}
	// Folders read while deleting were not compared message by message.
	r.comparedFolders = r.index.compared()
	if err == nil {
		err = r.deleteCopied(ctx)
	}
	return r.finish(ctx, err)
}

// readLayout asks the target how it names folders, when it can say.
func (r *run) readLayout(ctx context.Context) error {
	r.layout = target.Layout{Delimiter: "/"}
	l, ok := r.m.Target.(target.Layouter)
	if !ok {
		return nil
	}
	layout, err := l.Layout(ctx)
	if err != nil {
		if ClassOf(err) == ClassTransient {
			return &ConnectError{What: "target", Err: err}
		}
		return err
	}
	r.layout = layout
	return nil
}

// pipeline runs the stages of a run, each in its goroutines:
//
//	reader (one, over the sources in order): read, spool, identify, claim
//	  -> prepare (one): dedup against the state, then one Begin for a batch
//	  -> workers (Uploaders): dedup against the target folder, APPEND
//	  -> committer (one): one Commit for a batch, then release the items
//
// Grouping Begins and Commits into few transactions keeps the state's
// disk flushes far fewer than the messages: the target's own flushes are
// what a run should wait for.
func (r *run) pipeline(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	queued := make(chan *item, r.opts.Batch)
	work := make(chan *item, r.opts.Uploaders)
	commits := make(chan commitReq, r.opts.Uploaders)
	r.commits, r.committerDone = commits, make(chan struct{})
	g.Go(func() error {
		defer close(queued)
		for i := range r.m.Sources {
			if err := r.runSource(gctx, &r.m.Sources[i], queued); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error {
		defer close(work)
		return r.prepareLoop(gctx, queued, work)
	})
	var workers sync.WaitGroup
	for range r.opts.Uploaders {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			for it := range work {
				if err := r.deliver(gctx, it); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(r.committerDone)
		return r.commitLoop(commits)
	})
	g.Go(func() error {
		workers.Wait()
		close(commits)
		return nil
	})
	err := g.Wait()
	// Items left behind by stages that stopped early. Those past prepare
	// have a pending record: the next run asks the target about them.
	for _, ch := range []chan *item{queued, work} {
		for it := range ch {
			it.release()
		}
	}
	for c := range commits {
		c.it.release()
	}
	return err
}

func (r *run) finish(ctx context.Context, err error) (*Report, error) {
	r.rep.End = time.Now()
	r.rep.Substitutes = r.names.substitutes()
	if r.opts.DryRun {
		return &r.rep, err
	}
	// A folder whose every message this run went through without trouble
	// has been compared with the server once; later runs trust the state.
	bg := context.WithoutCancel(ctx)
	if err == nil {
		for _, f := range r.comparedFolders {
			if !r.troubled[f] {
				if ferr := r.m.State.SetFolder(bg, f, state.FolderRecord{Indexed: true}); ferr != nil {
					err = ferr
				}
			}
		}
	}
	run := state.Run{Start: r.rep.Start, End: r.rep.End, Copied: r.rep.Copied, Present: r.rep.Present,
		Duplicates: r.rep.Duplicates, Failed: r.rep.Failed(), Bytes: r.rep.Bytes, Result: resultOf(err, &r.rep)}
	if herr := r.m.State.AddRun(bg, run); herr != nil && err == nil {
		err = herr
	}
	return &r.rep, err
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

// wanted reports whether a source folder passes the spec's Include and
// Exclude patterns.
func wanted(spec *SourceSpec, folder string) bool {
	if len(spec.Include) > 0 && !matchAny(spec.Include, folder) {
		return false
	}
	return !matchAny(spec.Exclude, folder)
}

// matchAny reports whether folder or one of its parents matches a pattern.
func matchAny(patterns []string, folder string) bool {
	for f := folder; ; f = path.Dir(f) {
		for _, p := range patterns {
			if ok, _ := path.Match(strings.Trim(p, "/"), f); ok {
				return true
			}
		}
		if !strings.Contains(f, "/") {
			return false
		}
	}
}
