// Package harness holds what the private test-server harnesses
// (internal/dovecottest, and through internal/nstest internal/cyrustest,
// internal/couriertest and internal/popa3dtest) share and that needs no
// namespace: free ports and the start that retries when one was taken,
// the tail of a log, and the reaping of instance directories that a dead
// test process left behind.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mailferry/mailferry/internal/retry"
)

// FreePorts returns n distinct free TCP ports on 127.0.0.1. They are
// released before they are returned: a server that then fails to bind one
// (another process took it) should be started again with fresh ports (see
// StartOnFreePorts).
func FreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ErrAddrInUse is what a launch returns when the server could not bind a
// port that FreePorts had picked: StartOnFreePorts tries again.
var ErrAddrInUse = errors.New("address already in use")

// StartAttempts is how many launches StartOnFreePorts makes at the most.
const StartAttempts = 3

// StartOnFreePorts calls launch, which picks fresh ports and starts the
// server on them, until it succeeds, fails with an error that is not
// ErrAddrInUse, or has been called StartAttempts times. Free ports are
// picked, released, then bound by the server: another process may take
// one in between. It returns launch's last error as it is.
func StartOnFreePorts(launch func() error) error {
	err := retry.Do(context.Background(), retry.Policy{
		Attempts:  StartAttempts,
		Retryable: func(err error) bool { return errors.Is(err, ErrAddrInUse) },
	}, func(int) error { return launch() })
	if ex, ok := err.(*retry.Exhausted); ok {
		return ex.Err
	}
	return err
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ReapStale removes the instance directories matching the glob patterns
// that test processes left behind when they died before their cleanup (a
// test timeout panics, kill -9). A directory is stale when it belongs to
// this user and the process whose PID the file owner(dir) holds is gone;
// before, when set, is called on it first (to stop what may still run).
// Best effort: errors are ignored.
func ReapStale(patterns []string, owner func(dir string) string, before func(dir string)) {
	seen := map[string]bool{}
	for _, pattern := range patterns {
		dirs, _ := filepath.Glob(pattern)
		for _, dir := range dirs {
			if seen[dir] {
				continue
			}
			seen[dir] = true
			if !stale(dir, owner(dir)) {
				continue
			}
			if before != nil {
				before(dir)
			}
			_ = os.RemoveAll(dir)
		}
	}
}

func stale(dir, ownerFile string) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
		return false
	}
	pid, err := ReadPID(ownerFile)
	return err == nil && pid > 0 && !Alive(pid)
}

// ReadPID reads a PID written as decimal text in the file at path.
func ReadPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// Alive reports whether a process with this PID exists.
func Alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
