package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/mailferry/mailferry/migrate"
)

// endpoints name what a run read and wrote, for the summary.
type endpoints struct {
	Sources []string
	Target  string
}

// printSummary writes what a person needs to know after a run.
func printSummary(w io.Writer, rep *migrate.Report, where endpoints) {
	elapsed := rep.End.Sub(rep.Start)
	verb := "copied"
	if rep.DryRun {
		verb = "would copy"
		fmt.Fprintln(w, "Dry run: nothing was written to the target, the state or the source.")
	}
	for i, s := range where.Sources {
		label := "sources:"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "%-16s %s\n", label, printable(s))
	}
	if where.Target != "" {
		fmt.Fprintf(w, "%-16s %s\n", "target:", printable(where.Target))
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
	if rep.Copied == 0 {
		fmt.Fprintf(w, "%-16s %s\n", "time:", elapsed.Round(time.Millisecond))
		return
	}
	secs := max(elapsed.Seconds(), 0.001)
	fmt.Fprintf(w, "%-16s %s, %.1f msgs/s, %s\n", "time:", elapsed.Round(time.Millisecond),
		float64(rep.Copied)/secs, mibPerSecond(rep.Bytes, secs))
}

// printSummaryJSON writes the summary as one JSON line, for
// --log-format json: every line of the output is JSON then.
func printSummaryJSON(w io.Writer, rep *migrate.Report, where endpoints) {
	secs := max(rep.End.Sub(rep.Start).Seconds(), 0.001)
	failures := make([]map[string]string, 0, len(rep.Failures))
	for _, f := range rep.Failures {
		failures = append(failures, map[string]string{"source": f.Source, "message": f.RefID, "folder": f.Folder, "reason": f.Reason})
	}
	renamed := make([]map[string]string, 0, len(rep.Substitutes))
	for _, s := range rep.Substitutes {
		renamed = append(renamed, map[string]string{"wanted": s.Wanted, "used": s.Used, "reason": s.Reason})
	}
	attrs := []any{"dry_run", rep.DryRun, "sources", where.Sources, "target", where.Target,
		"copied", rep.Copied, "bytes", rep.Bytes, "present", rep.Present, "duplicates", rep.Duplicates,
		"done_before", rep.Known, "recovered", rep.Recovered, "vanished", rep.Vanished,
		"restored", rep.Restored, "restored_bytes", rep.RestoredBytes, "filtered", rep.Filtered,
		"deleted", rep.Deleted, "delete_kept", rep.DeleteKept, "delete_unconfirmed", rep.DeleteUnconfirmed,
		"renamed", renamed, "failed", rep.Failed(), "failures", failures,
		"seconds", math.Round(secs*1000) / 1000}
	if rep.Copied > 0 {
		attrs = append(attrs, "msgs_per_s", math.Round(float64(rep.Copied)/secs*10)/10,
			"mib_per_s", math.Round(float64(rep.Bytes)/(1<<20)/secs*100)/100)
	}
	slog.New(slog.NewJSONHandler(w, nil)).Info("summary", attrs...)
}

// started reports whether the run got as far as any message: a run that
// stopped before (TLS, login, the folder plan) has no summary to give.
func started(rep *migrate.Report) bool {
	return rep.Listed+rep.Known+rep.Copied+rep.Present+rep.Duplicates+rep.Vanished+rep.Recovered+
		rep.Restored+rep.Filtered+
		rep.Deleted+rep.DeleteKept+rep.DeleteUnconfirmed+len(rep.Failures)+len(rep.Substitutes) > 0
}

// mibPerSecond writes a rate in MiB/s, the one unit of the bar and the
// summary.
func mibPerSecond(bytes int64, secs float64) string {
	v := float64(bytes) / (1 << 20) / max(secs, 0.001)
	switch {
	case v >= 10:
		return fmt.Sprintf("%.0f MiB/s", v)
	case v >= 1:
		return fmt.Sprintf("%.1f MiB/s", v)
	case v >= 0.01:
		return fmt.Sprintf("%.2f MiB/s", v)
	}
	return "< 0.01 MiB/s"
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
