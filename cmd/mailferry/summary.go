package main

import (
	"fmt"
	"io"
	"time"

	"github.com/mailferry/mailferry/migrate"
)

// printSummary writes what a person needs to know after a run.
func printSummary(w io.Writer, rep *migrate.Report) {
	elapsed := rep.End.Sub(rep.Start)
	verb := "copied"
	if rep.DryRun {
		verb = "would copy"
		fmt.Fprintln(w, "Dry run: nothing was written to the target, the state or the source.")
	}
	fmt.Fprintf(w, "%-16s %d (%s)\n", verb+":", rep.Copied, humanBytes(rep.Bytes))
	fmt.Fprintf(w, "%-16s %d\n", "already present:", rep.Present)
	fmt.Fprintf(w, "%-16s %d\n", "duplicates:", rep.Duplicates)
	fmt.Fprintf(w, "%-16s %d\n", "done before:", rep.Known)
	if rep.Restored > 0 || rep.Recheck {
		restored := "restored:"
		if rep.DryRun {
			restored = "would restore:"
		}
		fmt.Fprintf(w, "%-16s %d (%s; done before, missing from the target, copied again: --recheck)\n", restored,
			rep.Restored, humanBytes(rep.RestoredBytes))
	}
	if rep.Filtered > 0 {
		fmt.Fprintf(w, "%-16s %d (since, before, max_message_size; not recorded as done)\n", "skipped by filter:", rep.Filtered)
	}
	if rep.Recovered > 0 {
		fmt.Fprintf(w, "%-16s %d (left pending by an interrupted run, found in the target)\n", "recovered:", rep.Recovered)
	}
	if rep.Vanished > 0 {
		fmt.Fprintf(w, "%-16s %d (deleted from the source during the run)\n", "vanished:", rep.Vanished)
	}
	if rep.Deleted+rep.DeleteKept+rep.DeleteUnconfirmed > 0 {
		fmt.Fprintf(w, "%-16s %d from the POP3 server", "deleted:", rep.Deleted)
		if rep.DeleteKept > 0 {
			fmt.Fprintf(w, ", %d kept until keep-days passes", rep.DeleteKept)
		}
		if rep.DeleteUnconfirmed > 0 {
			fmt.Fprintf(w, ", %d kept: no longer in the target as recorded", rep.DeleteUnconfirmed)
		}
		fmt.Fprintln(w)
	}
	if len(rep.Substitutes) > 0 {
		fmt.Fprintf(w, "%-16s %d folder(s) under another name: the target refuses their own\n", "renamed:", len(rep.Substitutes))
		for _, s := range rep.Substitutes {
			fmt.Fprintf(w, "  %q -> %q", printable(s.Wanted), printable(s.Used))
			if s.Reason != "" {
				fmt.Fprintf(w, " (%s)", printable(s.Reason))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "%-16s %d\n", "failed:", rep.Failed())
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "  %s message %s -> %s: %s\n", printable(f.Source), printable(f.RefID), printable(f.Folder), printable(f.Reason))
	}
	rate := float64(rep.Copied) / max(elapsed.Seconds(), 0.001)
	fmt.Fprintf(w, "%-16s %s, %.1f msgs/s, %s/s\n", "time:", elapsed.Round(time.Millisecond), rate,
		humanBytes(int64(float64(rep.Bytes)/max(elapsed.Seconds(), 0.001))))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
