package job

import (
	"context"
	"fmt"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
)

// A Plan is what a run of the job would do, per source folder: where its
// messages land, how many an earlier run did, and (fed with a dry run's
// events through Add) how many would be copied, how many are in the
// target already or duplicates, and what deletion would remove from each
// POP3 source. Job.Plan makes one before Migrator.Run; Add takes the
// run's events; Finish completes it.
type Plan struct {
	Sources []*SourcePlan
	now     time.Time
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
	// Err is why the source could not be listed before the run (its
	// folders then come from the run's events alone).
	Err error
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

// Plan lists every source of the job (without reading a message), reads
// the target's folder layout and the state, and returns the plan before
// the run: folders, where they land, what is done. A source that cannot
// be listed (Plan tries once; retrying is the run's business) has its
// SourcePlan.Err set. Errors are those of the target, of the state, and
// ctx's.
func (j *Job) Plan(ctx context.Context) (*Plan, error) {
	m := j.Migrator
	layout, err := migrate.ReadLayout(ctx, m.Target)
	if err != nil {
		return nil, err
	}
	p := &Plan{now: time.Now(), folders: map[planKey]*FolderPlan{}}
	for i := range m.Sources {
		spec := &m.Sources[i]
		sp, err := p.planSource(ctx, m.State, spec, migrate.NewFolderPlanner(layout, spec))
		if err != nil {
			return nil, err
		}
		p.Sources = append(p.Sources, sp)
	}
	return p, nil
}

func (p *Plan) planSource(ctx context.Context, st migrate.Store, spec *migrate.SourceSpec, fp *migrate.FolderPlanner) (*SourcePlan, error) {
	sp := &SourcePlan{Name: spec.Name, Archive: spec.Archive, Delete: spec.Delete}
	done := map[string]state.RefRecord{}
	err := st.Refs(spec.Name, func(id string, r state.RefRecord) error {
		done[id] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	src, err := spec.Open(ctx)
	if err != nil {
		return sp, sp.failed(ctx, err)
	}
	defer src.Close()
	seen := map[string]bool{}
	err = src.List(ctx, func(ref source.Ref) error {
		if seen[ref.ID] {
			return nil
		}
		seen[ref.ID] = true
		f := p.folder(sp, fp, ref.Folder)
		f.Listed++
		f.Bytes += ref.ApproxSize()
		if rec, ok := done[ref.ID]; ok && !f.Excluded {
			f.Done++
			if spec.Delete != nil {
				if rec.Done.After(p.now.Add(-spec.Delete.KeepFor)) {
					sp.keptDone++
				} else {
					sp.dueDone++
				}
			}
		}
		return nil
	})
	if err != nil {
		return sp, sp.failed(ctx, fmt.Errorf("list %s: %w", spec.Name, err))
	}
	return sp, nil
}

// failed records that the source could not be listed before the run: the
// run, which retries, says whether it can be. Only the end of ctx stops
// the plan.
func (sp *SourcePlan) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	sp.Err = err
	for _, f := range sp.Folders {
		f.Listed, f.Bytes, f.Done = 0, 0, 0
	}
	sp.dueDone, sp.keptDone = 0, 0
	return nil
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
