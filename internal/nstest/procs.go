package nstest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A Proc is one process, as /proc shows it to the host.
type Proc struct {
	PID   int
	Start uint64 // start time in clock ticks after boot: with PID, names the process uniquely
	Comm  string // command name
}

func (p Proc) String() string { return fmt.Sprintf("%d(%s)", p.PID, p.Comm) }

// Processes lists the processes of the namespace now (host PIDs), PID 1
// included; none when it is not running.
func (n *NS) Processes() []Proc {
	n.mu.Lock()
	pidns, running := n.pidns, n.cmd != nil
	n.mu.Unlock()
	if !running || pidns == "" {
		return nil
	}
	var procs []Proc
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		if link, err := os.Readlink(dir + "/ns/pid"); err != nil || link != pidns {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			procs = append(procs, p)
		}
	}
	return procs
}

// StillAlive returns the processes of procs that still exist (same PID and
// start time, not a zombie).
func StillAlive(procs []Proc) []Proc {
	var alive []Proc
	for _, p := range procs {
		if now, ok := readProc(p.PID); ok && now.Start == p.Start {
			alive = append(alive, now)
		}
	}
	return alive
}

// readProc reads /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ...".
// A zombie or a vanished process reports false.
func readProc(pid int) (Proc, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, false
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open || closing+2 >= len(s) {
		return Proc{}, false
	}
	fields := strings.Fields(s[closing+2:]) // fields[0] is field 3 (state)
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return Proc{}, false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return Proc{}, false
	}
	return Proc{PID: pid, Start: start, Comm: s[open+1 : closing]}, true
}
