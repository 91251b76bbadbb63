package nstest_test

import (
	"github.com/mailferry/mailferry/internal/testenv"

	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/nstest"
)

// start launches a namespace without a package root, or skips (fails in
// CI) where namespaces cannot run.
func start(t *testing.T, l nstest.Launch) *nstest.NS {
	t.Helper()
	nstest.Need(t, "nstest", nstest.Available())
	n, err := nstest.New("selftest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", n.Log())
		}
		_ = n.Remove(0)
	})
	if err := n.Launch(l); err != nil {
		t.Fatalf("Launch: %v", err)
	}
	return n
}

// TestStopEndsEveryProcess starts processes that a naive stop misses: a
// server and another process that ignore SIGTERM, and a daemon that left
// its parent (setsid, its parent gone). Stop must end them all.
func TestStopEndsEveryProcess(t *testing.T) {
	n := start(t, nstest.Launch{
		Setup: `(trap '' TERM; exec sleep 1000) & setsid sh -c 'sleep 1001 & exit 0' & sleep 0.2`,
		Run:   `sh -c "trap '' TERM; exec sleep 1002"`,
	})
	var procs []nstest.Proc
	sleeps := func() int { return countComm(procs, "sleep") }
	for range 100 { // the processes may take a moment to appear
		if procs = n.Processes(); sleeps() == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sleeps() != 3 {
		t.Fatalf("processes = %v, want the three sleeps", procs)
	}
	for _, p := range procs {
		if p.Comm != "sleep" && p.Comm != "sh" {
			t.Errorf("process %v in the namespace, want only sh and sleeps", p)
		}
	}
	if err := n.Stop(time.Second); err == nil {
		t.Errorf("Stop = nil, want a note that PID 1 was killed after the grace time")
	}
	if left := nstest.StillAlive(procs); len(left) > 0 {
		t.Errorf("after Stop, still running: %v", left)
	}
	if got := n.Processes(); len(got) != 0 {
		t.Errorf("Processes after Stop = %v, want none", got)
	}
	if err := n.Stop(time.Second); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
}

// TestHostUnchanged: a user added in the namespace, and the /dev/log
// there, exist only there.
func TestHostUnchanged(t *testing.T) {
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	n := start(t, nstest.Launch{
		Setup: "useradd --system --no-create-home mailferry-nstest && logger -t nstest-setup 'hello from the namespace'",
		Run:   "sleep 1000",
	})
	cmd, err := n.Command("id", "-u", "mailferry-nstest")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("id in the namespace: %v %s", err, out)
	}
	if now, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(now, passwd) {
		t.Errorf("/etc/passwd of the host changed")
	}
	if _, err := os.Lstat("/dev/log"); err == nil {
		t.Logf("note: the host has a /dev/log of its own")
	}
	if !strings.Contains(n.Syslog(), "nstest-setup: hello from the namespace") {
		t.Errorf("syslog = %q, want the logger line", n.Syslog())
	}
}

// TestSetupFailure: a failing Setup is reported with its output, and
// nothing is left running.
func TestSetupFailure(t *testing.T) {
	nstest.Need(t, "nstest", nstest.Available())
	n, err := nstest.New("selftest")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Remove(0)
	err = n.Launch(nstest.Launch{Setup: "echo 'setup says why' >&2; false", Run: "sleep 1000"})
	if err == nil || !strings.Contains(err.Error(), "setup says why") {
		t.Fatalf("Launch = %v, want an error with the setup's output", err)
	}
	if n.Running() {
		t.Errorf("still running after a failed Launch")
	}
}

// TestParentDeath: when the test process dies without cleanup (kill -9),
// its namespaces die with it, also when the server runs as another user.
// A child test process starts a namespace, prints the PIDs in it, and is
// killed.
func TestParentDeath(t *testing.T) {
	if os.Getenv("NSTEST_CHILD") == "1" {
		n, err := nstest.New("selftest")
		if err != nil {
			fmt.Println("error", err)
			return
		}
		// The server drops root, as Cyrus's master does: a change of
		// credentials clears a process's parent-death signal.
		if err := n.Launch(nstest.Launch{Setup: "sleep 1001 &",
			Run: "setpriv --reuid=65534 --regid=65534 --clear-groups sleep 1002"}); err != nil {
			fmt.Println("error", err)
			return
		}
		// Wait for both sleeps: the server's has dropped root by then.
		var procs []nstest.Proc
		for range 500 {
			procs = n.Processes()
			if countComm(procs, "sleep") == 2 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, p := range procs {
			fmt.Println("pid", p.PID)
		}
		fmt.Println("ready")
		time.Sleep(time.Minute)
		return
	}
	nstest.Need(t, "nstest", nstest.Available())
	cmd := exec.Command(os.Args[0], "-test.run=^TestParentDeath$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), "NSTEST_CHILD=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The child prints "pid N" lines, then "ready" (or "error ..."); the
	// test's own -test.timeout bounds a child that says nothing.
	var pids []int
	var lines []string
	for sc := bufio.NewScanner(stdout); sc.Scan() && sc.Text() != "ready"; {
		lines = append(lines, sc.Text())
		if f, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
	}
	if len(pids) < 2 {
		t.Fatalf("child printed %q, want the pids of its namespace", lines)
	}
	var procs []nstest.Proc
	for _, pid := range pids {
		procs = append(procs, nstest.Proc{PID: pid, Start: startTime(t, pid)})
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	for range 200 {
		if len(nstest.StillAlive(procs)) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("2 s after the test process died, still running: %v", nstest.StillAlive(procs))
}

func countComm(procs []nstest.Proc, comm string) int {
	c := 0
	for _, p := range procs {
		if p.Comm == comm {
			c++
		}
	}
	return c
}

func startTime(t *testing.T, pid int) uint64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fakeTB records Skipf and Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                          {}
func (f *fakeTB) Skipf(format string, args ...any) { f.skipped = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestNeed(t *testing.T) {
	t.Setenv(testenv.Env, "")
	unavailable := fmt.Errorf("%w: needs root", nstest.ErrUnavailable)
	for _, tc := range []struct {
		ci           string
		err          error
		skip, failed bool
	}{
		{"", nil, false, false},
		{"", unavailable, true, false},
		{"true", unavailable, false, true},
		{"", errors.New("broken config"), false, true},
		{"true", errors.New("broken config"), false, true},
	} {
		t.Setenv("CI", tc.ci)
		f := &fakeTB{TB: t}
		nstest.Need(f, "srv", tc.err)
		if (f.skipped != "") != tc.skip || (f.failed != "") != tc.failed {
			t.Errorf("CI=%q err=%v: skipped %q, failed %q; want skip %v, fail %v",
				tc.ci, tc.err, f.skipped, f.failed, tc.skip, tc.failed)
		}
	}
}
