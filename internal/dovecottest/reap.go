package dovecottest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var reapOnce sync.Once

// reapStale stops the Dovecots and removes the directories that earlier
// test processes left behind when they died before their cleanup (a test
// timeout panics, kill -9). An instance is stale when the process named in
// its owner.pid is gone. Its master is signalled only when /proc shows that
// the PID in master.pid runs dovecot with this instance's config, so a
// reused PID is never hit. Best effort: errors are ignored.
func reapStale() {
	seen := map[string]bool{}
	for _, parent := range []string{"/tmp", os.TempDir()} {
		dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
		for _, dir := range dirs {
			if !seen[dir] {
				seen[dir] = true
				reapDir(dir)
			}
		}
	}
}

func reapDir(dir string) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
		return
	}
	owner, err := readPID(filepath.Join(dir, "owner.pid"))
	if err != nil || alive(owner) {
		return
	}
	if master, err := readPID(filepath.Join(dir, "run", "master.pid")); err == nil {
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(master) + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), filepath.Join(dir, "dovecot.conf")) {
			_ = syscall.Kill(master, syscall.SIGTERM)
		}
	}
	_ = os.RemoveAll(dir)
}

func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// alive reports whether a process with this PID exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
