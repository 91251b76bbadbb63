package dovecottest

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// quiesced saves a second per Stop. On SIGTERM the master stops its
// services, signals its log process, then sleeps one fixed second before it
// closes its listening sockets and exits (seen with strace on 2.3.19). Once
// the log process is its only child left, no process touches the mail any
// more and killing the master loses nothing: Stop does that. (The log
// process ends by itself; the master does not reap it even when it exits
// normally.) quiesced reports whether that state was seen within timeout;
// without /proc it reports false.
func (s *Server) quiesced(timeout time.Duration) bool {
	pid := s.cmd.Process.Pid
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return true
		default:
		}
		kids, ok := children(pid)
		if !ok {
			return false
		}
		if onlyLog(kids) {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// children lists the PIDs of pid's children, from Linux's /proc.
func children(pid int) ([]int, bool) {
	p := strconv.Itoa(pid)
	data, err := os.ReadFile("/proc/" + p + "/task/" + p + "/children")
	if err != nil {
		return nil, false
	}
	var kids []int
	for _, f := range strings.Fields(string(data)) {
		if k, err := strconv.Atoi(f); err == nil {
			kids = append(kids, k)
		}
	}
	return kids, true
}

// onlyLog reports whether every process in pids has ended (or is a
// zombie) or is Dovecot's log process.
func onlyLog(pids []int) bool {
	for _, k := range pids {
		if comm, live := procState(k); live && comm != "log" {
			return false
		}
	}
	return true
}

// procState returns the command name of pid and whether it is running
// (exists and is not a zombie), from /proc/PID/stat: "pid (comm) state ...".
func procState(pid int) (comm string, live bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open || closing+2 >= len(s) {
		return "", false
	}
	return s[open+1 : closing], s[closing+2] != 'Z' && s[closing+2] != 'X'
}
