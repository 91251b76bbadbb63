package job

import (
	"context"
	"sync"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
)

// A Plan is what a run of the job would do, per source folder: where its
// messages land, how many an earlier run did, and (fed with a dry run's
// events through Add) how many would be copied, how many are in the
// target already or duplicates, and what deletion would remove from each
// POP3 source. Job.Plan makes one before Migrator.Run and watches its
// listings; Add takes the run's events; Finish completes it.
type Plan struct {
	Sources []*SourcePlan
	now     time.Time

	mu      sync.Mutex // the run lists and reports from several goroutines
	folders map[planKey]*FolderPlan
}

type planKey struct{ source, folder string }

// A SourcePlan is one source of a Plan.
type SourcePlan struct {
	Name    string
	Archive bool
	// Delete is the source's deletion policy, nil to leave it as it is.
	Delete  *migrate.DeletePolicy
	Folders []*FolderPlan
	// WouldDelete is, with a Delete policy, how many messages the run
	// would then delete from the source: those done (before or by the
	// run) and kept long enough; each is deleted only if the target holds
	// it as recorded. DeleteKept are those not due yet (keep-days).
	WouldDelete, DeleteKept int
	// dueDone counts, of the messages done by earlier runs, those due.
	dueDone, keptDone int
}

// A FolderPlan is one source folder of a Plan.
type FolderPlan struct {
	// Source is the folder in the source, "" for its top level.
	Source string
	migrate.PlannedFolder
	// Listed and Bytes are the folder's messages and their size as the
	// source announces it (exact or estimated).
	Listed int
	Bytes  int64
	// Done are the messages an earlier run copied (or found): not read
	// again.
	Done int
	// Copy and CopyBytes are the messages the run would append and their
	// bytes; Present those the target folder holds already, Duplicates
	// those copied from elsewhere (dedup), Failed and Vanished those that
	// could not be read.
	Copy                                  int
	CopyBytes                             int64
	Present, Duplicates, Failed, Vanished int
}

// Plan reads the target's folder layout and the state, and returns the
// plan of the job's run, to be called before Migrator.Run: it connects to
// no source itself but watches the run's listings (it wraps each
// SourceSpec's Open), so that the counts are the run's and a POP3 server
// sees one session, not two. Add takes the run's events; Finish completes
// the plan after the run. Errors are those of the target and the state.
func (j *Job) Plan(ctx context.Context) (*Plan, error) {
	m := j.Migrator
	layout, err := migrate.ReadLayout(ctx, m.Target)
	if err != nil {
		return nil, err
	}
	p := &Plan{now: time.Now(), folders: map[planKey]*FolderPlan{}}
	for i := range m.Sources {
		spec := &m.Sources[i]
		sp := &SourcePlan{Name: spec.Name, Archive: spec.Archive, Delete: spec.Delete}
		done := map[string]state.RefRecord{}
		err := m.State.Refs(spec.Name, func(id string, r state.RefRecord) error {
			done[id] = r
			return nil
		})
		if err != nil {
			return nil, err
		}
		p.Sources = append(p.Sources, sp)
		o := &listObserver{p: p, sp: sp, spec: *spec, done: done, planner: migrate.NewFolderPlanner(layout, spec),
			seen: map[string]bool{}}
		open := spec.Open
		spec.Open = func(ctx context.Context) (source.Source, error) {
			src, err := open(ctx)
			if err != nil {
				return nil, err
			}
			return o.wrap(src), nil
		}
	}
	return p, nil
}

// A listObserver counts what the run's listings of one source hold: each
// message once, however often the run lists the source (it lists again
// after reconnecting).
type listObserver struct {
	p       *Plan
	sp      *SourcePlan
	spec    migrate.SourceSpec
	done    map[string]state.RefRecord
	planner *migrate.FolderPlanner
	seen    map[string]bool
}

// wrap returns src with its listings observed, a source.Batcher still
// when src is one.
func (o *listObserver) wrap(src source.Source) source.Source {
	ls := observedSource{Source: src, o: o}
	if b, ok := src.(source.Batcher); ok {
		return batchingSource{observedSource: ls, Batcher: b}
	}
	return ls
}

func (o *listObserver) listed(ref source.Ref) {
	o.p.mu.Lock()
	defer o.p.mu.Unlock()
	if o.seen[ref.ID] {
		return
	}
	o.seen[ref.ID] = true
	f := o.p.folder(o.sp, o.planner, ref.Folder)
	f.Listed++
	f.Bytes += ref.ApproxSize()
	rec, ok := o.done[ref.ID]
	if !ok || f.Excluded {
		return
	}
	f.Done++
	if d := o.spec.Delete; d != nil {
		if rec.Done.After(o.p.now.Add(-d.KeepFor)) {
			o.sp.keptDone++
		} else {
			o.sp.dueDone++
		}
	}
}

type observedSource struct {
	source.Source
	o *listObserver
}

func (s observedSource) List(ctx context.Context, fn func(source.Ref) error) error {
	return s.Source.List(ctx, func(ref source.Ref) error {
		s.o.listed(ref)
		return fn(ref)
	})
}

type batchingSource struct {
	observedSource
	source.Batcher
}

// folder returns the plan of a source folder, made on first use.
func (p *Plan) folder(sp *SourcePlan, fp *migrate.FolderPlanner, name string) *FolderPlan {
	k := planKey{sp.Name, name}
	if f, ok := p.folders[k]; ok {
		return f
	}
	f := &FolderPlan{Source: name}
	if fp != nil {
		f.PlannedFolder = fp.Plan(name)
	} else {
		f.Target = name
	}
	p.folders[k] = f
	sp.Folders = append(sp.Folders, f)
	return f
}

// Add counts one event of the dry run (Migrator.Event): what happened to
// a message, in its source folder.
func (p *Plan) Add(e migrate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sp *SourcePlan
	for _, s := range p.Sources {
		if s.Name == e.Source {
			sp = s
		}
	}
	if sp == nil || e.Kind == migrate.EventListed || e.Kind == migrate.EventRetry {
		return
	}
	f, ok := p.folders[planKey{e.Source, e.Ref.Folder}]
	if !ok {
		f = p.folder(sp, nil, e.Ref.Folder)
	}
	if e.Folder != "" && e.Kind != migrate.EventFailed && e.Kind != migrate.EventVanished {
		f.Target = e.Folder // as the run resolved it
	}
	switch e.Kind {
	case migrate.EventCopied:
		f.Copy++
		f.CopyBytes += e.Bytes
	case migrate.EventPresent:
		f.Present++
	case migrate.EventDuplicate:
		f.Duplicates++
	case migrate.EventFailed:
		f.Failed++
	case migrate.EventVanished:
		f.Vanished++
	}
}

// Finish completes the plan after the dry run: what deletion would
// remove. With keep-days above 0, messages copied by this run are not due
// yet.
func (p *Plan) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, sp := range p.Sources {
		if sp.Delete == nil {
			continue
		}
		sp.WouldDelete, sp.DeleteKept = sp.dueDone, sp.keptDone
		for _, f := range sp.Folders {
			n := f.Copy + f.Present + f.Duplicates
			if sp.Delete.KeepFor <= 0 {
				sp.WouldDelete += n
			} else {
				sp.DeleteKept += n
			}
		}
	}
}
