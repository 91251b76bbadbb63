package migrate

import (
	"context"

	"github.com/mailferry/mailferry/target"
)

// What a run would do, without doing it: the target's layout and the
// target folder of each source folder, as `mailferry check` and a dry
// run's plan show them. Nothing here writes to the target.

// ReadLayout returns how t names its folders, as a run reads it first:
// "/"-separated when t cannot say.
func ReadLayout(ctx context.Context, t target.Target) (target.Layout, error) {
	return readLayout(ctx, t)
}

// A FolderPlanner says where the messages of each folder of one source
// would land on a target of a given layout.
type FolderPlanner struct {
	spec *SourceSpec
	fm   folderMapper
}

// NewFolderPlanner returns the planner of spec's folders on a target of
// layout (from ReadLayout).
func NewFolderPlanner(layout target.Layout, spec *SourceSpec) *FolderPlanner {
	return &FolderPlanner{spec: spec, fm: folderMapper{layout: layout, maps: spec.FolderMap}}
}

// A PlannedFolder is where the messages of one source folder would land.
type PlannedFolder struct {
	// Target is the target folder: the name the target has already
	// (its own name, its substitute, or an earlier version's name), else
	// its own name, created by the run. A server that refuses that name
	// gets a substitute, which only the run finds out.
	Target string
	// Wanted is the folder's name as the source has it, in the target's
	// hierarchy; it differs from Target when a substitute is used.
	Wanted string
	// Exists says whether the target has Target now.
	Exists bool
	// Excluded says that the source's Include or Exclude patterns leave
	// the folder out: a run does not read it.
	Excluded bool
}

// Plan returns where the messages found at sourceFolder ("/"-separated,
// "" for the source's top level) would land.
func (p *FolderPlanner) Plan(sourceFolder string) PlannedFolder {
	fp := p.fm.plan(p.spec.Folder, sourceFolder)
	name := p.fm.mapFolder(p.spec.Folder, sourceFolder)
	return PlannedFolder{Target: name, Wanted: p.fm.asIs(fp), Exists: p.fm.exists(name),
		Excluded: !wanted(p.spec, sourceFolder)}
}
