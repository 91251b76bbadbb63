package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/batch"
	"github.com/mailferry/mailferry/migrate/job"
)

// BatchOptions are the flags of mailferry batch.
type BatchOptions struct {
	ConfigFile string
	Accounts   string
	Format     string
	Parallel   int
	Results    string
	LogDir     string
	Shard      string
	Shards     int
	shardsSet  bool
	Admin      adminFlags // --source-admin-user, ... (adminflags.go)
}

// batchError ends a batch whose worst account did not end with exit 0:
// the process exits with that account's code.
type batchError struct {
	code int
	msg  string
}

func (e *batchError) Error() string { return e.msg }

func newBatchCommand(g *GlobalOptions) *cobra.Command {
	var o BatchOptions
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Migrate many accounts from a CSV list, several at once",
		Long: `Migrate every account of a CSV list, each as mailferry migrate would, with
the settings of a base config file and one state file per account.

The accounts file has a header line naming its columns, in any order:
  source_url            pop3s://host[:port] (or an archive, mbox:PATH, ...)
  source_user           the POP3 user
  target_user           the IMAP user (replaces the user of target.url)
  source_password_env   or source_password_file: where the POP3 password is
  target_password_env   or target_password_file: where the IMAP password is
  folder                (optional) the target folder of the source
  state_dir             (optional) the directory of this account's state
                        file instead of the config's state_dir (relative:
                        to the accounts file)
  KEY, target.KEY, source.KEY
                        (optional) a setting of this account over the base
                        config's, named as its config key and read as the
                        config file would: dedup, lock_timeout, settle,
                        target.connections, target.max_bytes_per_second,
                        target.admin_user, source.max_message_size,
                        source.since, source.delete, source.tls, ...; an
                        empty cell keeps the base's. Keys that cannot
                        differ per account (state, sources, target.url,
                        passwords) are refused.
Passwords never go in the file or on the command line: a column names an
environment variable or a file that holds each one. Lines starting with #
are skipped; an unknown column is an error.

The base config (--config) is a migrate config file; its target.url gives
the target server, its one source (optional, url left out) the settings of
every account's source (tls, ca_file, delete, ...). Keys for the batch:
  state_dir                   directory of the accounts' state files
                              (required; relative to the config file)
  max_connections_per_server  cap on the connections open to one server,
                              over all accounts (default: none)

Each account's state file in state_dir is named after the account: run the
same command again to resume, finished accounts only copy new mail. One
account's failure does not stop the others. Each account logs to its own
file in --log-dir; --results gets batch-TIME.csv and batch-TIME.jsonl, a
line per account (account, copied, duplicates, failed, bytes, seconds,
exit class, first error).

--accounts-format imapsync reads imapsync's file format instead, a line per
account: host1;user1;password1;host2;user2;password2; (lines starting with
# and empty lines skipped). host1 is the POP3 source: host[:port] is taken
as pop3s://host1, or give a URL (pop3://host:110). host2 replaces the host
of target.url (its scheme and port kept unless host2 has a port or is a
URL). The passwords are in that file: keep it chmod 600 (mailferry warns
when group or others may read it); they are never logged. The format has
no quoting: a user or password holding ";" cannot be written in it (use
the CSV format and a password file).

--shard I/N runs only shard I (from 0) of N: the accounts split into N
disjoint shards that together hold every account, each account's shard
fixed by its identity (source_url, source_user, target_user: the key of its
state file name), so adding or reordering accounts moves no other account.
--shards N (or --shard /N) takes I from the environment variable
JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it: run N processes
(pods) with indexes 0..N-1 on the same accounts file. The results files are then named
batch-TIME-shard-I-of-N and their shard column says I/N.

The exit code is the worst account's: 130, then 2, 3, 4, 1, 0.

` + exitCodesHelp,
		Example: `  export HR_IMAP_ADMIN_PASSWORD=...
  mailferry batch --config base.yaml --accounts users.csv --parallel 8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.shardsSet = cmd.Flags().Changed("shards")
			return runBatch(cmd.Context(), g, &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.ConfigFile, "config", "c", "", "base YAML config file (required)")
	f.StringVar(&o.Accounts, "accounts", "", "CSV file of the accounts (required)")
	f.StringVar(&o.Format, "accounts-format", "csv", "format of the accounts file: csv or imapsync")
	f.IntVar(&o.Parallel, "parallel", 4, "accounts migrated at once")
	f.StringVar(&o.Results, "results", "", "directory of the results files (default state_dir)")
	f.StringVar(&o.LogDir, "log-dir", "", "directory of the accounts' log files (default state_dir/logs)")
	f.StringVar(&o.Shard, "shard", "", "run only shard I (from 0) of N of the accounts: I/N (/N: I from $"+batch.IndexEnv+")")
	f.IntVar(&o.Shards, "shards", 0, "run only shard $"+batch.IndexEnv+" of N of the accounts")
	o.Admin.addFlags(f)
	return cmd
}

func runBatch(ctx context.Context, g *GlobalOptions, o *BatchOptions) error {
	var status *statusWriter
	lg := *g
	if !g.Quiet && isTerminal(g.stderr) {
		// A live overview on the last line, the log lines above it.
		status = &statusWriter{w: g.stderr}
		lg.stderr = status
	}
	log, err := lg.logger()
	if err != nil {
		return err
	}
	if o.ConfigFile == "" || o.Accounts == "" {
		return configErrorf("give --config FILE and --accounts FILE (see mailferry batch --help)")
	}
	if o.shardsSet && o.Shards < 1 {
		return configErrorf("--shards %d: want at least 1", o.Shards)
	}
	shard, shards, sharded, err := batch.ParseShard(o.Shard, o.Shards, os.Getenv(batch.IndexEnv))
	if err != nil {
		return configErrorf("%v", err)
	}
	if o.Parallel < 1 || o.Parallel > 256 {
		return configErrorf("--parallel: %d is not between 1 and 256", o.Parallel)
	}
	c, err := readConfig(viper.New(), o.ConfigFile)
	if err != nil {
		return err
	}
	o.Admin.apply(c, nil, true)
	if c.StateDir == "" {
		return configErrorf("config %s: state_dir is required for mailferry batch (the directory of the accounts' state files)",
			o.ConfigFile)
	}
	if c.MaxConnectionsPerServer < 0 {
		return configErrorf("config %s: max_connections_per_server: %d is negative", o.ConfigFile, c.MaxConnectionsPerServer)
	}
	stateDir := c.StateDir
	if !filepath.IsAbs(stateDir) {
		stateDir = filepath.Join(filepath.Dir(o.ConfigFile), stateDir)
	}
	base, err := c.jobConfig()
	if err != nil {
		return err
	}
	read := batch.ReadAccounts
	switch o.Format {
	case "csv", "":
		read = func(r io.Reader) ([]batch.Account, error) { return batch.ReadAccountsWith(r, overrideColumn) }
	case "imapsync":
		read = batch.ReadImapsync
	default:
		return configErrorf("--accounts-format: %q is not csv or imapsync", o.Format)
	}
	af, err := os.Open(o.Accounts)
	if err != nil {
		return configErrorf("--accounts: %v", err)
	}
	if fi, err := af.Stat(); err == nil && o.Format == "imapsync" && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the accounts file holds passwords and group or others may read it: chmod 600 it",
			"file", o.Accounts, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	accounts, err := read(af)
	af.Close()
	if err != nil {
		return configErrorf("%s: %v", o.Accounts, err)
	}
	for i, a := range accounts {
		// A relative state_dir column is the accounts file's directory's,
		// as a relative path in the config is the config file's.
		if a.StateDir != "" && !filepath.IsAbs(a.StateDir) {
			accounts[i].StateDir = filepath.Join(filepath.Dir(o.Accounts), a.StateDir)
		}
	}
	bo := batch.Options{StateDir: stateDir, Parallel: o.Parallel, MaxPerServer: c.MaxConnectionsPerServer,
		Base: func(a batch.Account) (job.Config, error) { return accountBase(o.ConfigFile, a, &o.Admin) }}
	items, err := batch.Configs(base, accounts, bo)
	if err != nil {
		return configErrorf("%s: %v", o.Accounts, err)
	}
	shardName := ""
	if sharded {
		// Every line was checked above (each shard refuses a bad list
		// alike); keep this shard's.
		var mine []batch.Item
		for _, it := range items {
			if batch.ShardOf(it.Account, shards) == shard {
				it.Shard = fmt.Sprintf("%d/%d", shard, shards)
				mine = append(mine, it)
			}
		}
		log.Info("batch shard", "shard", shard, "shards", shards, "accounts", len(mine), "of", len(items))
		items = mine
		shardName = fmt.Sprintf("shard-%d-of-%d", shard, shards)
	}
	if o.Results == "" {
		o.Results = stateDir
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Join(stateDir, "logs")
	}
	for _, d := range []string{stateDir, o.Results, o.LogDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return configErrorf("%v", err)
		}
	}
	out, err := newResultsFiles(o.Results, shardName, time.Now())
	if err != nil {
		return err
	}
	defer out.Close()
	bo.Logger = func(a batch.Account) (*slog.Logger, func()) { return accountLog(o.LogDir, a, log) }

	var mu sync.Mutex
	running, done, failed := 0, 0, 0
	start := time.Now()
	bo.Started = func(a batch.Account) {
		mu.Lock()
		running++
		mu.Unlock()
		log.Info("account start", "account", a.Name())
	}
	bo.Done = func(r batch.Result) {
		mu.Lock()
		running--
		done++
		if r.Exit != batch.ExitOK {
			failed++
		}
		mu.Unlock()
		lvl := slog.LevelInfo
		if r.Exit != batch.ExitOK {
			lvl = slog.LevelWarn
		}
		log.Log(ctx, lvl, "account done", "account", r.Account, "copied", r.Copied, "duplicates", r.Duplicates,
			"failed", r.Failed, "bytes", r.Bytes, "seconds", round(r.Seconds), "exit", r.Exit, "error", r.Error)
		if err := out.write(r); err != nil {
			log.Error("results", "error", err)
		}
	}
	var liveCopied, liveBytes atomic.Int64
	bo.Event = func(_ batch.Account, e migrate.Event) {
		if e.Kind == migrate.EventCopied {
			liveCopied.Add(1)
			liveBytes.Add(e.Bytes)
		}
	}
	every := 10 * time.Second
	if status != nil {
		every = time.Second
	}
	tick := time.NewTicker(every)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-tick.C:
				mu.Lock()
				d, r, f := done, running, failed
				mu.Unlock()
				secs := time.Since(start).Seconds()
				n, b := liveCopied.Load(), liveBytes.Load()
				if status != nil {
					status.set(fmt.Sprintf("accounts %d/%d done, %d running, %d failed; %d messages copied, %.1f msg/s, %.2f MiB/s",
						d, len(items), r, f, n, float64(n)/secs, float64(b)/secs/(1<<20)))
					continue
				}
				log.Info("batch progress", "done", d, "running", r, "failed", f, "accounts", len(items),
					"copied", n, "msg_per_s", round(float64(n)/secs), "elapsed", time.Since(start).Round(time.Second))
			case <-stop:
				return
			}
		}
	}()
	log.Info("batch start", "accounts", len(items), "parallel", o.Parallel, "state_dir", stateDir,
		"max_connections_per_server", c.MaxConnectionsPerServer)
	results := batch.Run(ctx, items, bo)
	tick.Stop()
	close(stop)
	if status != nil {
		status.set("")
	}
	if err := out.Close(); err != nil {
		return err
	}
	var copied int
	for _, r := range results {
		copied += r.Copied
	}
	worst := batch.Worst(results)
	if sharded {
		fmt.Fprintf(g.stdout, "batch: shard %d/%d, %d of %d accounts\n", shard, shards, len(items), len(accounts))
	}
	fmt.Fprintf(g.stdout, "batch: %d accounts, %d done, %d with errors, %d messages copied in %s\nresults: %s\n",
		len(results), len(results)-failed, failed, copied, time.Since(start).Round(time.Second), out.csvPath)
	if worst == batch.ExitOK {
		return nil
	}
	return &batchError{code: worst, msg: fmt.Sprintf("batch: %d of %d accounts did not finish cleanly (worst exit %d); see %s",
		failed, len(results), worst, out.csvPath)}
}

func round(s float64) float64 { return float64(int64(s*1000)) / 1000 }

// accountLog opens the account's log file, named as its state file with
// .log, appending.
func accountLog(dir string, a batch.Account, main *slog.Logger) (*slog.Logger, func()) {
	p := filepath.Join(dir, strings.TrimSuffix(batch.StateName(a), ".db")+".log")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		main.Warn("account log", "account", a.Name(), "error", err)
		return slog.New(slog.DiscardHandler), func() {}
	}
	return slog.New(slog.NewTextHandler(f, nil)).With("account", a.Name()), func() { f.Close() }
}

// resultsFiles are a batch's results: CSV and JSON lines, a line per
// account as each ends.
type resultsFiles struct {
	csvPath    string
	csvFile    *os.File
	csv        *csv.Writer
	jsonFile   *os.File
	closeOnce  sync.Once
	closeError error
}

var resultColumns = []string{"account", "copied", "duplicates", "failed", "bytes", "seconds", "exit", "error", "state", "shard"}

// newResultsFiles creates dir/batch-TIME[-shard].{csv,jsonl}.
func newResultsFiles(dir, shard string, now time.Time) (*resultsFiles, error) {
	stem0 := filepath.Join(dir, "batch-"+now.UTC().Format("20060102T150405Z"))
	if shard != "" {
		stem0 += "-" + shard
	}
	stem := stem0
	var cf *os.File
	var err error
	for i := 2; ; i++ { // two batches in one second: batch-TIME-2, ...
		cf, err = os.OpenFile(stem+".csv", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			break
		}
		stem = fmt.Sprintf("%s-%d", stem0, i)
	}
	if err != nil {
		return nil, configErrorf("results: %v", err)
	}
	jf, err := os.OpenFile(stem+".jsonl", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		cf.Close()
		return nil, configErrorf("results: %v", err)
	}
	r := &resultsFiles{csvPath: stem + ".csv", csvFile: cf, csv: csv.NewWriter(cf), jsonFile: jf}
	r.csv.Write(resultColumns)
	r.csv.Flush()
	return r, r.csv.Error()
}

func (o *resultsFiles) write(r batch.Result) error {
	o.csv.Write([]string{r.Account, strconv.Itoa(r.Copied), strconv.Itoa(r.Duplicates), strconv.Itoa(r.Failed),
		strconv.FormatInt(r.Bytes, 10), strconv.FormatFloat(round(r.Seconds), 'f', -1, 64), strconv.Itoa(r.Exit),
		r.Error, r.State, r.Shard})
	o.csv.Flush()
	r.Seconds = round(r.Seconds)
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, jerr := o.jsonFile.Write(append(b, '\n'))
	return errors.Join(o.csv.Error(), jerr)
}

func (o *resultsFiles) Close() error {
	o.closeOnce.Do(func() {
		o.closeError = errors.Join(o.csvFile.Close(), o.jsonFile.Close())
	})
	return o.closeError
}

var _ io.Closer = (*resultsFiles)(nil)

// statusWriter writes the log lines to a terminal above a status line
// that set rewrites.
type statusWriter struct {
	mu   sync.Mutex
	w    io.Writer
	line string
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line != "" {
		io.WriteString(s.w, "\r\033[K")
	}
	n, err := s.w.Write(p)
	if s.line != "" {
		io.WriteString(s.w, s.line)
	}
	return n, err
}

func (s *statusWriter) set(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, "\r\033[K"+line)
	s.line = line
}
