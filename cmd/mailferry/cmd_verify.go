package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailferry/mailferry/migrate"
)

// VerifyOptions are the flags of mailferry verify.
type VerifyOptions struct {
	JobFlags
	Show int
	// FailAltered makes a message stored altered a failure (exit 1).
	FailAltered bool
}

const verifyExitCodesHelp = `Exit codes:
  0    every source message is in the target: byte for byte, or stored
       altered by the server (listed, with a warning; see --fail-altered)
  1    some are missing, differ, or could not be read from the source
       (listed); with --fail-altered, also when some are stored altered
  2    usage or configuration error
  3    cannot connect, authenticate or verify TLS
  4    the state file is locked by a migrate run
  130  interrupted`

func newVerifyCommand(g *GlobalOptions) *cobra.Command {
	var o VerifyOptions
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every source message is in the target",
		Long: `Read every message of the configured sources, map it to its target folder
as migrate does, and look for it there by its key: the Message-ID with the
same body, or for a message without one the hash of its content; each copy
found is then compared with the source message whole. Prints, per target
folder, the source messages present (byte for byte), altered, missing, and
differing (the folder holds the Message-ID but with another body), and the
messages of the folder that no source message accounts for (extra: mail
that was there before, or a second copy).

Altered: the copy is there but not byte for byte. Cyrus IMAP stores each
8-bit byte of a header (a raw UTF-8 or Latin-1 Subject, From or
Message-ID) as 'X' unless its imapd.conf says "munge8bit: no"; migrate
finds such copies and never copies them again, and verify lists them with
the reason. Re-running cannot change them: they are a warning (exit 0)
unless --fail-altered is given. Another cause is a copy that was in the
target before with other header fields (same Message-ID and body).

A duplicate that dedup: account filed once, in another folder, counts as
present. Messages deleted from a source are not listed, so not expected.

verify writes nothing: the source is only read, the target folders are
opened read-only (EXAMINE, no flag changes), and the state file is opened
read-only (a missing one is fine). Settings are those of migrate.

` + verifyExitCodesHelp,
		Example: `  # after a migration: is everything there?
  mailferry verify --config mailferry.yaml

  # list up to 100 missing messages
  mailferry verify --config mailferry.yaml --show 100`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.load(cmd.Flags())
			if err != nil {
				return err
			}
			return runVerify(cmd.Context(), g, c, max(o.Show, 0), o.FailAltered)
		},
	}
	f := cmd.Flags()
	o.AddFlags(f)
	f.IntVar(&o.Show, "show", 20, "list at most this many missing, altered, differing and extra messages each")
	f.BoolVar(&o.FailAltered, "fail-altered", false, "exit 1 also when a message is in the target but stored altered")
	return cmd
}

// runVerify compares the job's sources with its target and prints the
// result. The job is built as for a dry run: the state read-only. A
// message stored altered fails it only with failAltered: the copy is
// there, migrate will not copy it again, and no re-run can change what
// the server stored, so a check that fails for it on every run would
// teach people to ignore the check; it is printed as a warning instead,
// even with --quiet.
func runVerify(ctx context.Context, g *GlobalOptions, c *Config, show int, failAltered bool) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	if c.StateNote != "" {
		log.Info(c.StateNote)
	}
	j, err := buildJob(ctx, c, true, log)
	if err != nil {
		return err
	}
	defer j.Close()
	rep, err := j.Migrator.Verify(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.LogFormat == "json":
		printVerifyJSON(g.stdout, rep, show, failAltered)
	case !g.Quiet || !rep.OK():
		printVerify(g.stdout, rep, migrate.Dedup(c.Dedup), show, failAltered)
	}
	return verifyResult(rep, failAltered)
}

// verifyResult is runVerify's error for rep: errMessagesFailed (exit 1)
// when a message is missing, differs or is unreadable, or with
// failAltered is stored altered.
func verifyResult(rep *migrate.VerifyReport, failAltered bool) error {
	if !rep.Complete() || (failAltered && !rep.OK()) {
		return fmt.Errorf("verify: %d missing, %d differing, %d unreadable, %d altered: %w",
			len(rep.Missing), len(rep.Differs), len(rep.Unreadable), len(rep.Altered), errMessagesFailed)
	}
	return nil
}

// printVerify writes the per-folder table, the totals and the lists.
func printVerify(w io.Writer, rep *migrate.VerifyReport, dedup migrate.Dedup, show int, failAltered bool) {
	width := len("TOTAL")
	for _, f := range rep.Folders {
		width = max(width, len(printable(f.Folder)))
	}
	// The ALTERED column shows only when some message is: the table of a
	// byte-exact target keeps its five numbers.
	altered := len(rep.Altered) > 0
	row := func(name string, f migrate.FolderCheck) {
		fmt.Fprintf(w, "%-*s %8d %8d", width, printable(name), f.Expected, f.Present)
		if altered {
			fmt.Fprintf(w, " %8d", f.Altered)
		}
		fmt.Fprintf(w, " %8d %8d %8d\n", f.Missing, f.Differs, f.Extra)
	}
	fmt.Fprintf(w, "%-*s %8s %8s", width, "FOLDER", "SOURCE", "PRESENT")
	if altered {
		fmt.Fprintf(w, " %8s", "ALTERED")
	}
	fmt.Fprintf(w, " %8s %8s %8s\n", "MISSING", "DIFFERS", "EXTRA")
	var total migrate.FolderCheck
	for _, f := range rep.Folders {
		row(f.Folder, f)
		total.Expected += f.Expected
		total.Present += f.Present
		total.Altered += f.Altered
		total.Missing += f.Missing
		total.Differs += f.Differs
		total.Extra += f.Extra
	}
	row("TOTAL", total)
	if rep.Elsewhere > 0 {
		if dedup == "" {
			dedup = migrate.DedupAccount
		}
		fmt.Fprintf(w, "present includes %d duplicate(s) found in another folder (dedup: %s)\n", rep.Elsewhere, dedup)
	}
	if rep.Vanished > 0 {
		fmt.Fprintf(w, "vanished: %d (deleted from the source while verify read it)\n", rep.Vanished)
	}
	list(w, "altered (in the target, not byte for byte)", rep.Altered, show)
	list(w, "missing", rep.Missing, show)
	list(w, "differing (same Message-ID, another body)", rep.Differs, show)
	list(w, "unreadable in the source", rep.Unreadable, show)
	list(w, "extra (in the target, in no source)", rep.Extra, show)
	verdict := verifyVerdict(rep, failAltered)
	fmt.Fprintf(w, "%s (%d read, %s)\n", verdict, rep.Listed, rep.End.Sub(rep.Start).Round(time.Millisecond))
	if len(rep.Missing) > 0 {
		fmt.Fprintln(w, recheckHint)
	}
}

// recheckHint is what verify says to do about missing messages.
const recheckHint = "run `mailferry migrate --recheck` to copy the missing messages again"

// verifyVerdict is the line that ends verify's report.
func verifyVerdict(rep *migrate.VerifyReport, failAltered bool) string {
	switch {
	case !rep.Complete():
		return "NOT OK: some source messages are not in the target"
	case !rep.OK() && failAltered:
		return fmt.Sprintf("NOT OK: every source message is in the target, but %d stored altered (--fail-altered)",
			len(rep.Altered))
	case !rep.OK():
		return fmt.Sprintf("WARNING: every source message is in the target, but %d stored altered, not byte for byte (listed above)",
			len(rep.Altered))
	}
	return "OK: every source message is in the target, byte for byte"
}

// printVerifyJSON writes verify's report as one JSON line, for
// --log-format json (every line of the output is JSON then): the
// folders, the totals, up to show items of each list, and the verdict.
func printVerifyJSON(w io.Writer, rep *migrate.VerifyReport, show int, failAltered bool) {
	folders := make([]map[string]any, 0, len(rep.Folders))
	for _, f := range rep.Folders {
		folders = append(folders, map[string]any{"folder": f.Folder, "source": f.Expected, "present": f.Present,
			"altered": f.Altered, "missing": f.Missing, "differs": f.Differs, "extra": f.Extra})
	}
	items := func(list []migrate.VerifyItem) []map[string]any {
		out := make([]map[string]any, 0, min(show, len(list)))
		for _, it := range list[:min(show, len(list))] {
			m := map[string]any{"folder": it.Folder}
			for k, v := range map[string]string{"source": it.Source, "message": it.RefID, "key": it.Key,
				"subject": it.Subject, "reason": it.Reason} {
				if v != "" {
					m[k] = v
				}
			}
			if it.UID != 0 {
				m["uid"] = it.UID
			}
			out = append(out, m)
		}
		return out
	}
	ok := rep.Complete() && (!failAltered || rep.OK())
	attrs := []any{"ok", ok, "verdict", verifyVerdict(rep, failAltered),
		"read", rep.Listed, "vanished", rep.Vanished, "elsewhere", rep.Elsewhere,
		"missing", len(rep.Missing), "differs", len(rep.Differs), "altered", len(rep.Altered),
		"unreadable", len(rep.Unreadable), "extra", len(rep.Extra), "folders", folders,
		"missing_items", items(rep.Missing), "differs_items", items(rep.Differs), "altered_items", items(rep.Altered),
		"unreadable_items", items(rep.Unreadable), "extra_items", items(rep.Extra),
		"seconds", math.Round(rep.End.Sub(rep.Start).Seconds()*1000) / 1000}
	if len(rep.Missing) > 0 {
		attrs = append(attrs, "next", recheckHint)
	}
	slog.New(slog.NewJSONHandler(w, nil)).Info("verify", attrs...)
}

// list prints up to show items under a heading.
func list(w io.Writer, what string, items []migrate.VerifyItem, show int) {
	if len(items) == 0 {
		return
	}
	more := ""
	if len(items) > show {
		more = fmt.Sprintf(", first %d", show)
	}
	fmt.Fprintf(w, "%s (%d%s):\n", what, len(items), more)
	for _, it := range items[:min(show, len(items))] {
		var b strings.Builder
		if it.Source != "" {
			fmt.Fprintf(&b, "  %s message %s -> %s", printable(it.Source), printable(it.RefID), printable(it.Folder))
		} else {
			fmt.Fprintf(&b, "  %s UID %d", printable(it.Folder), it.UID)
		}
		if it.Source != "" && it.UID != 0 {
			fmt.Fprintf(&b, " UID %d", it.UID)
		}
		if it.Subject != "" {
			fmt.Fprintf(&b, " %q", it.Subject)
		}
		if strings.HasPrefix(it.Key, "<") {
			fmt.Fprintf(&b, " %s", printable(it.Key))
		}
		if it.Reason != "" {
			fmt.Fprintf(&b, ": %s", printable(it.Reason))
		}
		fmt.Fprintln(w, b.String())
	}
}
