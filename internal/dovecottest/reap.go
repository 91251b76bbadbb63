package dovecottest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/mailferry/mailferry/internal/harness"
)

var reapOnce sync.Once

// reapStale stops the Dovecots and removes the directories that earlier
// test processes left behind when they died before their cleanup (a test
// timeout panics, kill -9). An instance is stale when the process named in
// its owner.pid is gone. Its master is signalled only when /proc shows that
// the PID in master.pid runs dovecot with this instance's config, so a
// reused PID is never hit. Best effort: errors are ignored.
func reapStale() {
	harness.ReapStale([]string{filepath.Join("/tmp", dirPrefix+"*"), filepath.Join(os.TempDir(), dirPrefix+"*")},
		func(dir string) string { return filepath.Join(dir, "owner.pid") }, stopMaster)
}

// stopMaster sends SIGTERM to the master of a stale instance in dir.
func stopMaster(dir string) {
	master, err := harness.ReadPID(filepath.Join(dir, "run", "master.pid"))
	if err != nil {
		return
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(master) + "/cmdline")
	if err == nil && strings.Contains(string(cmdline), filepath.Join(dir, "dovecot.conf")) {
		_ = syscall.Kill(master, syscall.SIGTERM)
	}
}
