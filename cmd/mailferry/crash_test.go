package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// crashEnv, set to "POINT:N" in the environment of a child run, makes the
// child SIGKILL itself at the N-th (from 1) instant of kind POINT. Before
// dying it writes "crash: POINT N WHERE" to stderr. Set to "trace", it
// kills nothing. Either way the child traces its APPENDs and state writes
// to stderr ("trace: ..."), so that a failing test can show which run did
// what.
const crashEnv = "MAILFERRY_TEST_CRASH"

// Crash points.
const (
	// crashAppend kills right after the N-th Append returned a UID: the
	// message is in the target, its commit not written.
	crashAppend = "append"
	// crashBegin kills during the N-th BeginAll: inside bbolt's write or
	// fsync, or just before or after it.
	crashBegin = "begin"
	// crashCommit kills during the N-th CommitAll, likewise.
	crashCommit = "commit"
	// crashRecover kills during the N-th Commit or Forget: those are the
	// writes of the recovery of a killed run's pending records.
	crashRecover = "recover"
	// crashFolder kills during, or right after, the creation of the N-th
	// folder that did not exist when the run started: the folder is on
	// the server (or being made), nothing else is.
	crashFolder = "folder"
)

var crashPoints = []string{crashAppend, crashBegin, crashCommit, crashRecover, crashFolder}

// installCrashHook sets testHookJob from crashEnv; it is called in the
// child process only.
func installCrashHook() {
	spec := os.Getenv(crashEnv)
	switch spec {
	case "":
		return
	case "trace":
		testHookJob = (&crasher{}).wrap
		return
	}
	c, err := parseCrash(spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s=%q: %v\n", crashEnv, spec, err)
		os.Exit(2)
	}
	testHookJob = c.wrap
}

func parseCrash(spec string) (*crasher, error) {
	point, num, _ := strings.Cut(spec, ":")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("want POINT:N with N >= 1")
	}
	for _, p := range crashPoints {
		if p == point {
			return &crasher{point: point, n: int64(n)}, nil
		}
	}
	return nil, fmt.Errorf("unknown crash point %q (one of %v)", point, crashPoints)
}

// A crasher counts the instants of its point and kills the process at the
// n-th. The zero value kills nothing.
type crasher struct {
	point string
	n     int64
	count atomic.Int64
}

// trace writes one line about what the run does to stderr.
func trace(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "trace: %s "+format+"\n", append([]any{time.Now().Format("15:04:05.000000")}, args...)...)
}

// keysOf names key records for the trace.
func keysOf(ks ...state.KeyRecord) string {
	var b strings.Builder
	for _, k := range ks {
		fmt.Fprintf(&b, " %s|%s|%d", k.Key, k.Folder, k.UID)
	}
	return b.String()
}

// wrap puts the crasher around the job's target and state.
func (c *crasher) wrap(m *migrate.Migrator) {
	l, ok := m.Target.(target.Layouter)
	if !ok {
		panic("crash hook: the target is not a target.Layouter")
	}
	st, ok := m.Target.(target.Statuser)
	if !ok {
		panic("crash hook: the target is not a target.Statuser")
	}
	m.Target = &crashTarget{Target: m.Target, layouter: l, statuser: st, c: c}
	m.State = &crashStore{Store: m.State, c: c}
}

// hit counts one instant of point and reports whether it is the one to
// die at.
func (c *crasher) hit(point string) bool {
	return point == c.point && c.count.Add(1) == c.n
}

// die tells the parent where the kill landed and SIGKILLs the process.
func (c *crasher) die(where string) {
	fmt.Fprintf(os.Stderr, "crash: %s %d %s\n", c.point, c.n, where)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

// during runs call while another goroutine kills the process after a
// random delay of up to maxDelay: the kill lands inside call or, when call
// is quicker, just after it, while the run goes on.
func (c *crasher) during(maxDelay time.Duration, call func() error) error {
	var took atomic.Int64 // the call's duration once it returned, else 0
	delay := rand.N(maxDelay)
	start := time.Now()
	go func() {
		spin(delay)
		where := fmt.Sprintf("inside delay=%v", delay)
		if d := time.Duration(took.Load()); d > 0 {
			where = fmt.Sprintf("after delay=%v took=%v", delay, d)
		}
		c.die(where)
	}()
	err := call()
	took.Store(int64(max(time.Since(start), 1)))
	return err
}

// spin waits d precisely: a sleep this short would last far longer.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
		runtime.Gosched()
	}
}

// stateWriteWindow bounds the delay of a kill during a state write: a
// bbolt transaction with its fsync takes a few milliseconds here, so
// kills spread over before, inside and after the write.
const stateWriteWindow = 4 * time.Millisecond

// folderWindow bounds the delay of a kill during a folder creation (an
// APPEND answered [TRYCREATE], CREATE, the APPEND again, on a local server).
const folderWindow = 6 * time.Millisecond

// crashStore kills during the state writes of its point.
type crashStore struct {
	migrate.Store
	c *crasher
}

func (s *crashStore) BeginAll(ctx context.Context, ks []state.KeyRecord) error {
	trace("begin%s", keysOf(ks...))
	if s.c.hit(crashBegin) {
		return s.c.during(stateWriteWindow, func() error { return s.Store.BeginAll(ctx, ks) })
	}
	return s.Store.BeginAll(ctx, ks)
}

func (s *crashStore) CommitAll(ctx context.Context, ops []state.CommitOp) error {
	ks := make([]state.KeyRecord, len(ops))
	for i, op := range ops {
		ks[i] = op.Key
	}
	trace("commit%s", keysOf(ks...))
	if s.c.hit(crashCommit) {
		return s.c.during(stateWriteWindow, func() error { return s.Store.CommitAll(ctx, ops) })
	}
	return s.Store.CommitAll(ctx, ops)
}

func (s *crashStore) Commit(ctx context.Context, k state.KeyRecord, source, refID string, r state.RefRecord) error {
	trace("recover commit%s", keysOf(k))
	if s.c.hit(crashRecover) {
		return s.c.during(stateWriteWindow, func() error { return s.Store.Commit(ctx, k, source, refID, r) })
	}
	return s.Store.Commit(ctx, k, source, refID, r)
}

func (s *crashStore) Forget(ctx context.Context, k state.KeyRecord) error {
	trace("forget%s", keysOf(k))
	if s.c.hit(crashRecover) {
		return s.c.during(stateWriteWindow, func() error { return s.Store.Forget(ctx, k) })
	}
	return s.Store.Forget(ctx, k)
}

// crashTarget kills after an Append, or around a folder creation. It
// keeps the target's Layout and Status, which the engine finds by type
// assertion.
type crashTarget struct {
	target.Target
	layouter target.Layouter
	statuser target.Statuser
	c        *crasher

	mu      sync.Mutex
	folders map[string]bool // folders that exist, or that an Append has begun to create
}

func (t *crashTarget) Layout(ctx context.Context) (target.Layout, error) {
	l, err := t.layouter.Layout(ctx)
	if err == nil {
		t.mu.Lock()
		t.folders = map[string]bool{}
		for _, f := range l.Folders {
			t.folders[f] = true
		}
		t.mu.Unlock()
	}
	return l, err
}

// Status keeps the target's folder status, which the engine's settle
// wait uses.
func (t *crashTarget) Status(ctx context.Context, folder string) (target.FolderStatus, error) {
	return t.statuser.Status(ctx, folder)
}

func (t *crashTarget) Append(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	if t.c.point == crashFolder && t.isNew(folder) && t.c.hit(crashFolder) {
		return t.createAndDie(ctx, folder, msg)
	}
	head := make([]byte, min(msg.Size, 4096))
	n, _ := msg.Body.ReadAt(head, 0)
	subj := subject(head[:n])
	trace("append %s %q (%d bytes)", folder, subj, msg.Size)
	uid, err := t.Target.Append(ctx, folder, msg)
	trace("appended %s %q: UID %d, %v", folder, subj, uid, err)
	if err == nil && t.c.hit(crashAppend) {
		t.c.die("after-ok")
	}
	return uid, err
}

// isNew reports, once per folder, whether folder did not exist when the
// run started.
func (t *crashTarget) isNew(folder string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.folders == nil || t.folders[folder] || strings.EqualFold(folder, "INBOX") {
		return false
	}
	t.folders[folder] = true
	return true
}

// createAndDie kills the process while the n-th new folder is created:
// half the time at a random instant of the first APPEND into it, which the
// server answers [TRYCREATE], then CREATE, then the APPEND again (the
// kill lands anywhere in that sequence); else right after a CREATE
// succeeded, before anything is appended.
func (t *crashTarget) createAndDie(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	if rand.IntN(2) == 0 {
		var uid uint32
		err := t.c.during(folderWindow, func() (err error) {
			uid, err = t.Target.Append(ctx, folder, msg)
			return err
		})
		return uid, err
	}
	if err := t.Target.EnsureFolder(ctx, folder); err != nil {
		return 0, err
	}
	t.c.die("after-create")
	return 0, nil
}
