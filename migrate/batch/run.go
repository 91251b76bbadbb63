package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
	"github.com/mailferry/mailferry/state"
)

// Exit classes: the exit codes of `mailferry migrate`.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitConnect     = 3
	ExitLocked      = 4
	ExitInterrupted = 130
)

// severity orders the exit classes from best to worst: a batch ends with
// its worst account's. Interrupted is worst (the batch did not finish),
// then a configuration error (no run of that account can succeed until
// someone changes something), connect, locked, messages failed.
var severity = map[int]int{ExitOK: 0, ExitFailed: 1, ExitLocked: 2, ExitConnect: 3, ExitUsage: 4, ExitInterrupted: 5}

// Worst returns the worst exit class of results (ExitOK for none).
func Worst(results []Result) int {
	worst := ExitOK
	for _, r := range results {
		if severity[r.Exit] > severity[worst] {
			worst = r.Exit
		}
	}
	return worst
}

// Classify is the exit class of an account's run that returned err with
// rep (nil before the run started), as `mailferry migrate` maps them.
func Classify(err error, rep *migrate.Report) int {
	var cfg *job.ConfigError
	var acc *Error
	switch {
	case err == nil && rep != nil && rep.Failed() > 0:
		return ExitFailed
	case err == nil:
		return ExitOK
	case errors.As(err, &cfg), errors.As(err, &acc):
		return ExitUsage
	case errors.Is(err, state.ErrLocked):
		return ExitLocked
	}
	switch migrate.ClassOf(err) {
	case migrate.ClassInterrupted:
		return ExitInterrupted
	case migrate.ClassConnect:
		return ExitConnect
	}
	return ExitFailed
}

// Options say how a batch runs.
type Options struct {
	// StateDir holds the accounts' state files (StateName).
	StateDir string
	// Parallel is how many accounts run at once (at least 1).
	Parallel int
	// MaxPerServer, above 0, caps the connections open at once to one
	// server host:port over all accounts (see the package doc).
	MaxPerServer int
	// Logger returns the logger of an account's run (nil: discard), and
	// a function to call when the account is done.
	Logger func(a Account) (*slog.Logger, func())
	// Started and Done, when not nil, are called as each account starts
	// and ends (from the accounts' goroutines, one at a time).
	Started func(a Account)
	Done    func(r Result)
	// Event, when not nil, sees each account's migrate.Events, from the
	// run's goroutines, concurrently.
	Event func(a Account, e migrate.Event)

	// Base, when not nil, makes the base job of each account that has
	// Overrides (its settings columns applied to the base config);
	// its error refuses the list, on that account's line.
	Base func(a Account) (job.Config, error)

	// run replaces an account's run (tests).
	run func(ctx context.Context, c job.Config, log *slog.Logger) (*migrate.Report, error)
}

// Item is one account of a batch with its job.
type Item struct {
	Account Account
	Config  job.Config
	// Shard, when not empty, is the shard that ran the account ("I/N"),
	// copied into its Result.
	Shard string
	// servers are the host:port the account connects to, with the
	// connections it may open to each.
	servers map[string]int
}

// Result is what one account's run did.
type Result struct {
	Account    string  `json:"account"`
	State      string  `json:"state"`
	Copied     int     `json:"copied"`
	Duplicates int     `json:"duplicates"`
	Failed     int     `json:"failed"`
	Bytes      int64   `json:"bytes"`
	Seconds    float64 `json:"seconds"`
	Exit       int     `json:"exit"`
	// Error is the error that ended the run, or the first message that
	// failed ("" when none).
	Error string `json:"error"`
	// Shard is the Item's Shard.
	Shard string `json:"shard,omitempty"`
}

// Configs makes each account's job from base: base's settings, the
// account's state file under o.StateDir, the target URL of base with the
// account's target user, and one source: base.Sources[0] (when base has
// one: its settings, TLS, delete, ...) with the account's URL, user and
// folder. Passwords are read when the job connects, from the account's
// environment variable or file.
func Configs(base job.Config, accounts []Account, o Options) ([]Item, error) {
	if len(base.Sources) > 1 {
		return nil, &job.ConfigError{Err: errors.New("batch: the base config may have at most one source " +
			"(the settings every account's source gets)")}
	}
	if o.StateDir == "" {
		return nil, &job.ConfigError{Err: errors.New("batch: state_dir is required")}
	}
	parallel := max(1, o.Parallel)
	var items []Item
	for _, a := range accounts {
		c := base.Clone()
		if len(a.Overrides) > 0 {
			if o.Base == nil {
				return nil, &Error{Line: a.Line, Err: errors.New("settings columns given but no way to apply them")}
			}
			ac, err := o.Base(a)
			if err != nil {
				return nil, &Error{Line: a.Line, Err: err}
			}
			if len(ac.Sources) > 1 {
				return nil, &Error{Line: a.Line, Err: errors.New("more than one source")}
			}
			c = ac
		}
		dir := o.StateDir
		if a.StateDir != "" {
			dir = a.StateDir
		}
		c.State = filepath.Join(dir, StateName(a))
		var s job.Source
		if len(c.Sources) == 1 {
			s = c.Sources[0]
		}
		s.URL = a.SourceURL
		c.Sources = []job.Source{s}
		// A preset gives a base target URL or an account's source_url
		// without a host its host (pop3s:// with source.preset: gmail).
		if err := c.ApplyPresets(); err != nil {
			return nil, &Error{Line: a.Line, Err: err}
		}
		s = c.Sources[0]
		tu, err := withUser(c.Target.URL, a.TargetUser)
		if err != nil {
			return nil, &Error{Line: a.Line, Err: fmt.Errorf("target.url of the base config: %v", err)}
		}
		if a.TargetHost != "" {
			if tu, err = withHost(tu, a.TargetHost); err != nil {
				return nil, &Error{Line: a.Line, Err: fmt.Errorf("host2: %v", err)}
			}
		}
		c.Target.URL = tu
		c.Target.Password = secret(a.TargetPassword, "target")
		if o.MaxPerServer > 0 {
			c.Target.Connections = max(1, min(c.Target.Connections, o.MaxPerServer/parallel))
		}
		s.Password = nil
		if !a.Archive() {
			if s.URL, err = withUser(s.URL, a.SourceUser); err != nil {
				return nil, &Error{Line: a.Line, Err: fmt.Errorf("source_url: %v", err)}
			}
			s.Password = secret(a.SourcePassword, "source")
		}
		if a.Folder != "" {
			s.Folder = a.Folder
		}
		c.Sources = []job.Source{s}
		if err := c.Validate(); err != nil {
			return nil, &Error{Line: a.Line, Err: err}
		}
		it := Item{Account: a, Config: c, servers: map[string]int{}}
		if h := hostPort(c.Target.URL, "143"); h != "" {
			it.servers[h] += c.Target.Connections
		}
		if !a.Archive() {
			if h := hostPort(s.URL, "110"); h != "" {
				it.servers[h]++
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// withUser returns raw with its user set to user.
func withUser(raw, user string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host", job.Redact(raw))
	}
	u.User = url.User(user)
	return u.String(), nil
}

// withHost returns raw with the host of host: "host", "host:port" (raw's
// port kept when host has none) or a URL whose scheme, host and port
// replace raw's.
func withHost(raw, host string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if strings.Contains(host, "://") {
		h, err := url.Parse(host)
		if err != nil {
			return "", err
		}
		if h.Host == "" || h.User != nil || (h.Path != "" && h.Path != "/") {
			return "", fmt.Errorf("%q: want scheme://host[:port]", host)
		}
		u.Scheme, u.Host = h.Scheme, h.Host
		return u.String(), nil
	}
	if strings.ContainsAny(host, "/@?# ") {
		return "", fmt.Errorf("%q is not a host[:port]", host)
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		u.Host = host
	} else if p := u.Port(); p != "" {
		u.Host = net.JoinHostPort(strings.Trim(host, "[]"), p)
	} else {
		u.Host = host
	}
	return u.String(), nil
}

// hostPort is the server a URL names, host:port, lower case; the port
// defaults by scheme (def for the plain one).
func hostPort(raw, def string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = def
		switch strings.ToLower(u.Scheme) {
		case "imaps":
			port = "993"
		case "pop3s":
			port = "995"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// secret reads a password from s when the job connects.
func secret(s Secret, side string) func(context.Context, string) (string, error) {
	return func(_ context.Context, name string) (string, error) {
		if s.Value != "" {
			return s.Value, nil
		}
		if s.File != "" {
			b, err := os.ReadFile(s.File)
			if err != nil {
				return "", &job.ConfigError{Err: fmt.Errorf("%s_password_file: %v", side, err)}
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if p := os.Getenv(s.Env); p != "" {
			return p, nil
		}
		return "", &job.ConfigError{Err: fmt.Errorf("no password for %s: the environment variable %s (%s_password_env) is not set",
			name, s.Env, side)}
	}
}

// Run runs the items, o.Parallel at once, and returns their results in
// the items' order. An account that fails does not stop the others; when
// ctx is done, the accounts running stop (interrupted) and those not
// started are reported interrupted without running.
func Run(ctx context.Context, items []Item, o Options) []Result {
	parallel := max(1, o.Parallel)
	lim := newLimiter(o.MaxPerServer)
	results := make([]Result, len(items))
	var mu sync.Mutex // serializes Started and Done
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := &items[i]
				if !lim.acquire(ctx, it.servers) {
					results[i] = Result{Account: it.Account.Name(), State: it.Config.State, Exit: ExitInterrupted,
						Error: "interrupted before the account started", Shard: it.Shard}
				} else {
					if o.Started != nil {
						mu.Lock()
						o.Started(it.Account)
						mu.Unlock()
					}
					results[i] = o.runOne(ctx, it)
					lim.release(it.servers)
				}
				if o.Done != nil {
					mu.Lock()
					o.Done(results[i])
					mu.Unlock()
				}
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// runOne runs one account, turning a panic into its failure.
func (o *Options) runOne(ctx context.Context, it *Item) (r Result) {
	r = Result{Account: it.Account.Name(), State: it.Config.State, Shard: it.Shard}
	start := time.Now()
	log, done := slog.New(slog.DiscardHandler), func() {}
	if o.Logger != nil {
		log, done = o.Logger(it.Account)
	}
	defer done()
	var rep *migrate.Report
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		r.Seconds = time.Since(start).Seconds()
		if rep != nil {
			r.Copied, r.Duplicates, r.Failed, r.Bytes = rep.Copied, rep.Duplicates, rep.Failed(), rep.Bytes
		}
		if err != nil && ctx.Err() != nil {
			r.Exit = ExitInterrupted
		} else {
			r.Exit = Classify(err, rep)
		}
		switch {
		case err != nil:
			r.Error = err.Error()
		case rep != nil && rep.Failed() > 0:
			f := rep.Failures[0]
			r.Error = fmt.Sprintf("message %s of %s: %s", f.RefID, f.Source, f.Reason)
		}
		log.Info("account done", "copied", r.Copied, "duplicates", r.Duplicates, "failed", r.Failed,
			"bytes", r.Bytes, "exit", r.Exit, "error", r.Error)
	}()
	log.Info("account start", "account", r.Account, "state", r.State)
	// The state directory is made here, not before the batch: one that
	// cannot be made (a per-account state_dir on a full or read-only
	// disk) fails this account alone.
	if err = os.MkdirAll(filepath.Dir(it.Config.State), 0o700); err != nil {
		err = fmt.Errorf("state_dir: %w", err)
		return r
	}
	run := o.run
	if run == nil {
		var ev func(migrate.Event)
		if o.Event != nil {
			ev = func(e migrate.Event) { o.Event(it.Account, e) }
		}
		run = func(ctx context.Context, c job.Config, log *slog.Logger) (*migrate.Report, error) {
			return runJob(ctx, c, log, ev)
		}
	}
	rep, err = run(ctx, it.Config, log)
	return r
}

// runJob builds and runs one job.
func runJob(ctx context.Context, c job.Config, log *slog.Logger, ev func(migrate.Event)) (*migrate.Report, error) {
	if err := os.MkdirAll(filepath.Dir(c.State), 0o700); err != nil {
		return nil, err
	}
	j, err := job.Build(ctx, c, log)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	j.Migrator.Event = ev
	return j.Migrator.Run(ctx)
}

// limiter holds the connection tokens of each server.
type limiter struct {
	max  int // 0: no cap
	mu   sync.Mutex
	cond *sync.Cond
	used map[string]int
}

func newLimiter(n int) *limiter {
	l := &limiter{max: n, used: map[string]int{}}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// acquire takes need[server] tokens of each server, all at once, waiting
// until they are free; false when ctx ended first.
func (l *limiter) acquire(ctx context.Context, need map[string]int) bool {
	if l.max <= 0 {
		return ctx.Err() == nil
	}
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return false
		}
		free := true
		for s, n := range need {
			// An account that needs more than the cap alone runs when the
			// server is idle.
			if l.used[s] > 0 && l.used[s]+n > l.max {
				free = false
			}
		}
		if free {
			for s, n := range need {
				l.used[s] += n
			}
			return true
		}
		l.cond.Wait()
	}
}

func (l *limiter) release(need map[string]int) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	for s, n := range need {
		l.used[s] -= n
	}
	l.cond.Broadcast()
	l.mu.Unlock()
}
