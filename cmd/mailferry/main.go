package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/state"
)

// Exit codes, as documented in every command's help.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitConnect     = 3
	exitLocked      = 4
	exitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0    done
  1    done, but some messages failed (listed in the summary), or the run
       stopped on an error such as a full disk (state consistent: run again)
  2    usage or configuration error, or a state file path that cannot be written
  3    cannot connect, authenticate or verify TLS, or the target is over quota
  4    the state file is locked by another run
  130  interrupted (state consistent: run again to resume)`

// errMessagesFailed ends a run in which some messages could not be copied.
var errMessagesFailed = errors.New("some messages could not be copied")

// GlobalOptions hold the flags every command has.
type GlobalOptions struct {
	LogFormat string
	Quiet     bool
	Verbose   bool
	stdout    io.Writer
	stderr    io.Writer
}

func main() {
	root := newRootCommand(os.Stdout, os.Stderr)
	ctx, stop := onSignals(root, os.Stderr, os.Exit)
	err := unknownCommand(root, root.ExecuteContext(ctx))
	stop()
	code := exitCode(err)
	if err != nil && !errors.Is(err, errMessagesFailed) {
		printError(os.Stderr, root, err, code)
	}
	os.Exit(code)
}

// printError writes the error that ended the process: a line of text, or
// with --log-format json a JSON line like the log's.
func printError(w io.Writer, root *cobra.Command, err error, code int) {
	if jsonLogs(root, os.Args[1:]) {
		slog.New(slog.NewJSONHandler(w, nil)).Error(err.Error(), "exit", code)
		return
	}
	fmt.Fprintf(w, "mailferry: %v\n", err)
}

// jsonLogs reports whether the command line asks for JSON logs, also when
// cobra stopped before it parsed the flags (an unknown command).
func jsonLogs(root *cobra.Command, args []string) bool {
	if f := root.PersistentFlags().Lookup("log-format"); f != nil && f.Changed {
		return f.Value.String() == "json"
	}
	for i, a := range args {
		if a == "--log-format=json" || (a == "--log-format" && i+1 < len(args) && args[i+1] == "json") {
			return true
		}
	}
	return false
}

// unknownCommand makes cobra's error for an unknown command a usage
// error (exit 2, not 1, which means messages failed), with the command
// meant if it is near enough.
func unknownCommand(root *cobra.Command, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "unknown command ") {
		return err
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(err.Error(), "unknown command "), " for ")
	name = strings.Trim(name, `"`)
	msg := fmt.Sprintf("unknown command %q", name)
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return configErrorf("%s; see mailferry --help", msg)
}

// exitCode maps an error to the exit code of the process: the one place
// that decides it.
func exitCode(err error) int {
	var cfgErr *configError
	var intErr *interruptedError
	var batchErr *batchError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &batchErr):
		return batchErr.code
	case errors.As(err, &intErr):
		return exitInterrupted
	case errors.Is(err, errMessagesFailed):
		return exitFailed
	case errors.As(err, &cfgErr):
		return exitUsage
	case errors.Is(err, state.ErrLocked):
		return exitLocked
	}
	switch migrate.ClassOf(err) {
	case migrate.ClassInterrupted:
		return exitInterrupted
	case migrate.ClassConnect:
		return exitConnect
	}
	return exitFailed
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	g := &GlobalOptions{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "mailferry",
		Short: "Move e-mail from POP3 into IMAP folders, exactly once",
		Long: `mailferry reads the messages of POP3 maildrops and of local archives (mbox,
Maildir, .eml/.emlx, Thunderbird profiles) and appends them to IMAP folders
byte for byte, with their flags and dates. A state file remembers what was
copied, so a run can be stopped and resumed at any moment and a message is
never copied twice.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetVersionTemplate("mailferry {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &configError{err} })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return passwordOnCommandLine(cmd.Flags()) }
	f := root.PersistentFlags()
	f.StringVar(&g.LogFormat, "log-format", "text", "log format on stderr: text or json")
	f.BoolVarP(&g.Quiet, "quiet", "q", false, "no progress; print the summary only when something failed (for cron)")
	f.BoolVarP(&g.Verbose, "verbose", "v", false, "log more detail")
	root.AddCommand(newMigrateCommand(g), newVerifyCommand(g), newDemoCommand(g), newVersionCommand(g))
	root.AddCommand(newCheckCommand(g))
	root.AddCommand(newBatchCommand(g))
	return root
}

// logger builds the logger the flags ask for, on stderr.
func (g *GlobalOptions) logger() (*slog.Logger, error) {
	level := slog.LevelInfo
	switch {
	case g.Verbose:
		level = slog.LevelDebug
	case g.Quiet:
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, configErrorf("--log-format: %q is not text or json", g.LogFormat)
}
