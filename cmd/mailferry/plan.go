package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
)

// dryRunPlan is the plan a dry run prints: made before the run, fed with
// its events. A nil *dryRunPlan (not a dry run) does nothing.
type dryRunPlan struct{ p *job.Plan }

// newDryRunPlan makes the plan of a dry run, nil otherwise.
func newDryRunPlan(ctx context.Context, j *job.Job, dryRun bool) (*dryRunPlan, error) {
	if !dryRun {
		return nil, nil
	}
	p, err := j.Plan(ctx)
	if err != nil {
		return nil, err
	}
	return &dryRunPlan{p}, nil
}

// events returns the migrator's event function: next, and the plan's.
func (d *dryRunPlan) events(next func(migrate.Event)) func(migrate.Event) {
	if d == nil {
		return next
	}
	return func(e migrate.Event) {
		d.p.Add(e)
		next(e)
	}
}

// print writes the plan, per source and source folder.
func (d *dryRunPlan) print(w io.Writer) {
	if d == nil {
		return
	}
	d.p.Finish()
	printPlan(w, d.p)
}

func printPlan(w io.Writer, p *job.Plan) {
	fmt.Fprintln(w, "Plan (source folder -> target folder):")
	for _, s := range p.Sources {
		fmt.Fprintf(w, "  %s", printable(s.Name))
		if s.Delete != nil {
			if s.Delete.KeepFor > 0 {
				fmt.Fprintf(w, " (delete: keep-days:%d)", int(s.Delete.KeepFor.Hours()/24))
			} else {
				fmt.Fprint(w, " (delete: after-upload)")
			}
		}
		fmt.Fprintln(w)
		if len(s.Folders) == 0 {
			fmt.Fprintln(w, "    (no messages)")
		} else {
			printFolders(w, s)
		}
		if s.Delete != nil {
			fmt.Fprintf(w, "    would delete %d from the POP3 server after the run, each once the target holds it", s.WouldDelete)
			if s.DeleteKept > 0 {
				fmt.Fprintf(w, "; %d kept until keep-days passes", s.DeleteKept)
			}
			fmt.Fprintln(w)
		}
	}
}

// printFolders writes one source's folders as a table.
func printFolders(w io.Writer, s *job.SourcePlan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    FOLDER\tTARGET\tMESSAGES\tTO COPY\tBYTES\tPRESENT\tDUPLICATES\tDONE BEFORE\tFAILED")
	for _, f := range s.Folders {
		fmt.Fprintf(tw, "    %s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\n", sourceFolderName(f.Source, s.Archive),
			targetFolderName(f.Target, f.Wanted, f.Exists, f.Excluded), f.Listed, f.Copy, humanBytes(f.CopyBytes),
			f.Present, f.Duplicates, f.Done, f.Failed+f.Vanished)
	}
	tw.Flush()
}
