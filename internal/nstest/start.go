package nstest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/harness"
)

// An Instance is a server that a harness started.
type Instance interface {
	Stop() error
	Log() string
}

// Start is the Start of a harness named name ("cyrustest"): it skips or
// fails t as Need does for available (the harness's Available()), starts
// the server with start and stops it in t.Cleanup, logging the tail of
// its log when the test failed.
func Start[S Instance](t testing.TB, name string, available error, start func() (S, error)) S {
	t.Helper()
	Need(t, name, available)
	s, err := start()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s: log:\n%s", name, harness.Tail(s.Log(), 80))
		}
		if err := s.Stop(); err != nil {
			t.Errorf("%s: stop: %v", name, err)
		}
	})
	return s
}

// StartSteps runs the steps of a start in order (prepare and check may be
// nil): prepare (files in Dir), launch (again with fresh ports while it fails
// with ErrAddrInUse, see harness.StartOnFreePorts), check (logins, first
// mailboxes). When one fails, it removes the instance and returns the
// error, followed, once launch has been tried, by the last 60 lines of
// log.
func (n *NS) StartSteps(log func() string, prepare, launch, check func() error) error {
	if prepare != nil {
		if err := prepare(); err != nil {
			_ = n.Remove(0)
			return err
		}
	}
	err := harness.StartOnFreePorts(launch)
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, harness.Tail(log(), 60))
		_ = n.Remove(0)
		return err
	}
	return nil
}

// CheckStop stops s, whose processes were procs while it ran, and checks
// that Stop succeeded, that none of procs is left and that dir is gone.
func CheckStop(t testing.TB, s Instance, procs []Proc, dir string) {
	t.Helper()
	start := time.Now()
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(start))
	if left := StillAlive(procs); len(left) > 0 {
		t.Errorf("after Stop, still running: %v", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s: %v, want it removed", dir, err)
	}
}

// CheckBusyPortRetried is the busy-port test of a namespaced harness named
// name: it needs the server as Need does for available, then runs
// harness.CheckBusyPortRetried with pick (the harness's FreePorts) and
// start (which starts the server and returns it with the address it
// serves at index 0), and checks that the server's log tells of the busy
// port.
func CheckBusyPortRetried(t *testing.T, name string, available error, pick *func(int) ([]int, error), start func() (Instance, string)) {
	t.Helper()
	Need(t, name, available)
	var s Instance
	harness.CheckBusyPortRetried(t, pick, 0, func() string {
		var addr string
		s, addr = start()
		return addr
	})
	if !strings.Contains(s.Log(), "Address already in use") {
		t.Errorf("log does not tell of the busy port:\n%s", s.Log())
	}
}
