package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
)

// MigrateOptions are the flags of mailferry migrate.
type MigrateOptions struct {
	JobFlags
	DryRun  bool
	Recheck bool
	LogFile string
}

func newMigrateCommand(g *GlobalOptions) *cobra.Command {
	var o MigrateOptions
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Copy the messages of the configured sources into the target",
		Long: `Copy every message of the configured sources (POP3 servers, mbox:, maildir:,
eml: and thunderbird: archives) into IMAP folders, once.

Settings come from the config file, then MAILFERRY_* environment variables
(MAILFERRY_TARGET_URL sets target.url, MAILFERRY_STATE sets state, ...),
then flags. Passwords never go on the command line: each server's password
comes from password_file, password_command, or the environment variable
that password_env names (default MAILFERRY_TARGET_PASSWORD and
MAILFERRY_SOURCE_PASSWORD), or a prompt on a terminal.

` + exitCodesHelp,
		Example: `  # the job a config file describes
  mailferry migrate --config configs/single-user.yaml

  # what would be copied, without writing anything
  mailferry migrate --config mailferry.yaml --dry-run

  # copy again what verify found missing from the target
  mailferry migrate --config mailferry.yaml --recheck

  # no config file
  export MAILFERRY_SOURCE_PASSWORD=... MAILFERRY_TARGET_PASSWORD=...
  mailferry migrate --source pop3s://alice@pop.example.net \
      --target imaps://alice@mail.example.org --state ~/.mailferry.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.load(cmd.Flags())
			if err != nil {
				return err
			}
			c.recheck = o.Recheck
			return runMigrateLog(cmd.Context(), g, c, o.DryRun, o.LogFile)
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&o.DryRun, "dry-run", "n", false, "connect, list and say what would be copied; write nothing anywhere")
	cmd.Flags().BoolVar(&o.Recheck, "recheck", false,
		"do not trust the state's \"done\": look for every message in the target and copy again those missing")
	cmd.Flags().StringVar(&o.LogFile, "log-file", "",
		"append one JSON line per message (source, Message-ID, target folder, UID, outcome) to this file (mode 0600)")
	return cmd
}

// runMigrate runs the job c describes and prints its summary.
func runMigrate(ctx context.Context, g *GlobalOptions, c *Config, dryRun bool) error {
	return runMigrateLog(ctx, g, c, dryRun, "")
}

// runMigrateLog is runMigrate writing a line per message to logFile
// ("" for none).
func runMigrateLog(ctx context.Context, g *GlobalOptions, c *Config, dryRun bool, logFile string) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	if c.StateNote != "" {
		log.Info(c.StateNote)
	}
	var events *eventLog
	if logFile != "" {
		if events, err = openEventLog(logFile, dryRun, log); err != nil {
			return err
		}
		defer func() {
			if err := events.Close(); err != nil {
				log.Warn("log file", "error", err)
			}
		}()
	}
	j, err := buildJob(ctx, c, dryRun, log)
	if err != nil && ctx.Err() != nil {
		return &interruptedError{rep: &migrate.Report{}, err: err}
	}
	if err != nil {
		return diskFull(stateUnusable(c.State, err))
	}
	defer j.Close()
	plan, err := newDryRunPlan(ctx, j, dryRun)
	if err != nil {
		return err
	}
	p := g.progress(log)
	j.Migrator.Event = plan.events(p.Event)
	if events != nil {
		shown := j.Migrator.Event
		j.Migrator.Event = func(e migrate.Event) {
			shown(e)
			events.Event(e)
		}
	}
	rep, err := j.Migrator.Run(ctx)
	p.Done()
	if err == nil {
		plan.print(g.stdout)
	}
	if err != nil && ctx.Err() != nil {
		err = &interruptedError{rep: rep, err: err}
	}
	// A run that stopped before any message (TLS, login) has nothing to
	// sum up: its error says it all.
	if (err == nil || started(rep)) && (!g.Quiet || err != nil || rep.Failed() > 0) {
		where := endpoints{Target: job.Redact(c.Target.URL)}
		for _, s := range j.Migrator.Sources {
			where.Sources = append(where.Sources, s.Name)
		}
		if g.LogFormat == "json" {
			printSummaryJSON(g.stdout, rep, where)
		} else {
			printSummary(g.stdout, rep, where)
		}
	}
	if err == nil && rep.Failed() > 0 {
		return errMessagesFailed
	}
	return diskFull(err)
}

// interruptedError is a run stopped by a signal (Ctrl-C, SIGTERM): exit
// 130, with how far it got and what to do.
type interruptedError struct {
	rep *migrate.Report
	err error // what the run returned
}

func (e *interruptedError) Error() string {
	verb := "copied"
	if e.rep.DryRun {
		verb = "would be copied"
	}
	if todo := e.rep.Listed - e.rep.Known; todo > 0 {
		return fmt.Sprintf("interrupted: %d of %d %s; run the same command again to finish", e.rep.Copied, todo, verb)
	}
	return "interrupted before any message was copied; run the same command again to finish"
}

func (e *interruptedError) Unwrap() error { return e.err }

// stateUnusable turns a failure to open the state file that lies in its
// path or file system (read-only, no permission, a parent that is a file,
// an immutable file) into a configuration error, exit 2: no run can
// succeed until the state setting or the file system changes. Other
// errors (a full disk, a lock) are returned as they are.
func stateUnusable(path string, err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) || !onPath(path, pe.Path) {
		return err
	}
	why := pe.Err.Error()
	switch {
	case errors.Is(pe.Err, syscall.EROFS), errors.Is(pe.Err, syscall.EACCES), errors.Is(pe.Err, syscall.EISDIR):
	case errors.Is(pe.Err, syscall.ENOTDIR):
		why += ": a part of the path is a file"
	case errors.Is(pe.Err, syscall.EPERM):
		why += ": is the file immutable? (lsattr)"
	default:
		return err
	}
	if filepath.Clean(pe.Path) != filepath.Clean(path) {
		why += fmt.Sprintf(" (%s %s)", pe.Op, pe.Path)
	}
	return configErrorf("cannot use the state file %s: %s; set state (--state, MAILFERRY_STATE) to a path on a writable disk",
		path, why)
}

// onPath reports whether p is path or one of its parent directories.
func onPath(path, p string) bool {
	rel, err := filepath.Rel(filepath.Clean(p), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// diskFull adds what to do to an error from a full disk or a file size
// limit: the run stopped with its state consistent.
func diskFull(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return fmt.Errorf("%w\nThe disk is full (or a file size limit was reached). Free some space, "+
			"or move the state file (state) or the spool directory (TMPDIR, %s, for large messages) "+
			"to a bigger disk, and run again: the state is consistent and nothing is copied twice",
			err, os.TempDir())
	}
	return err
}

// progress picks the display: a bar on a terminal, log lines otherwise.
func (g *GlobalOptions) progress(l *slog.Logger) progress {
	switch {
	case g.Quiet:
		return quietProgress{log: l}
	case isTerminal(g.stderr):
		return newBarProgress(g.stderr, l)
	}
	return newLineProgress(l, 10*time.Second)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
