package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rssEnv names the file where the RSS wrapper writes its child's peak RSS.
const rssEnv = "BENCH_RSS_WRAPPER_OUT"

// Why a wrapper: on Linux a child's ru_maxrss includes the resident set
// of the process image it replaced at exec. Go starts children with
// vfork, so that image is the parent's: a child of the benchmark, which
// holds the whole mailbox in memory, would report at least the
// benchmark's own peak (a 200 MB Go parent gives /bin/true a peak RSS of
// 200 MB). Job.Run therefore starts a small copy of the test binary that
// has allocated nothing yet (RSSWrapperMain); it starts mailferry and
// reads mailferry's ru_maxrss, which then includes at most the wrapper's
// few MiB (its VmHWM, reported as the floor).

// IsRSSWrapper reports whether this process was started as the wrapper.
// The test binary's TestMain must call RSSWrapperMain then, first thing.
func IsRSSWrapper() bool { return os.Getenv(rssEnv) != "" }

// RSSWrapperMain runs os.Args[1:] as a child with the standard streams of
// this process, writes the child's peak RSS, the floor (bytes), and the
// child's user and system CPU time (ns) to the file named by the
// environment, and returns the child's exit code.
func RSSWrapperMain() int {
	out := os.Getenv(rssEnv)
	os.Unsetenv(rssEnv)
	floor := vmHWM() // read now: the child's peak includes the wrapper's
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		fmt.Fprintf(os.Stderr, "rss wrapper: %v\n", err)
		return 125
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	line := fmt.Appendf(nil, "%d %d %d %d\n", ru.Maxrss<<10, floor,
		time.Duration(syscall.TimevalToNsec(ru.Utime)), time.Duration(syscall.TimevalToNsec(ru.Stime)))
	if werr := os.WriteFile(out, line, 0o600); werr != nil {
		fmt.Fprintf(os.Stderr, "rss wrapper: %v\n", werr)
		return 125
	}
	return code
}

// vmHWM returns this process's peak RSS in bytes from /proc/self/status,
// which, unlike ru_maxrss, covers only its own image; -1 when unknown.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kib << 10
			}
		}
	}
	return -1
}

// usage is what RSSWrapperMain measured.
type usage struct {
	maxRSS, floor int64 // bytes
	user, sys     time.Duration
}

// readUsage reads what RSSWrapperMain wrote.
func readUsage(path string) (usage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return usage{}, err
	}
	f := strings.Fields(string(data))
	if len(f) != 4 {
		return usage{}, fmt.Errorf("usage file %q", data)
	}
	var n [4]int64
	for i := range n {
		if n[i], err = strconv.ParseInt(f[i], 10, 64); err != nil {
			return usage{}, fmt.Errorf("usage file %q: %w", data, err)
		}
	}
	return usage{maxRSS: n[0], floor: n[1], user: time.Duration(n[2]), sys: time.Duration(n[3])}, nil
}
