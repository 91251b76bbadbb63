package nstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// dirPrefix starts the name of every instance directory (see reapStale).
const dirPrefix = "mailferry-ns-"

// SetupTimeout bounds how long Launch waits for the namespace's mounts and
// the Setup commands.
const SetupTimeout = 60 * time.Second

// An NS is one server instance: a directory on the host and, once
// launched, a private mount and PID namespace running the server. Its
// methods are safe for concurrent use.
type NS struct {
	// Dir is the instance directory on the host (mode 0755, under /tmp so
	// that the servers' unprivileged users can reach it). Files the harness
	// writes there before Launch are visible inside the namespace at the
	// same path.
	Dir string

	sys *syslogSink

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when PID 1 of the namespace has been reaped
	pidns  string        // "pid:[inode]" of the running namespace
	runs   int
	// where the current launch's output starts: init.log offset, syslog lines
	logOffset int64
	sysMark   int
}

// New creates an instance directory /tmp/mailferry-ns-NAME-* and the socket
// that becomes /dev/log inside the namespace.
func New(name string) (*NS, error) {
	reapOnce.Do(reapStale)
	dir, err := os.MkdirTemp("/tmp", dirPrefix+name+"-")
	if err != nil {
		return nil, err
	}
	n := &NS{Dir: dir}
	if err := n.prepare(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return n, nil
}

func (n *NS) prepare() error {
	if err := os.Chmod(n.Dir, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(n.nsDir(), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.nsDir(), "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	sys, err := listenSyslog(filepath.Join(n.nsDir(), "log.sock"))
	if err != nil {
		return fmt.Errorf("syslog socket: %w", err)
	}
	n.sys = sys
	return nil
}

// nsDir holds the namespace's own files: owner.pid, log.sock, init.log,
// ready, and the mount point of the tmpfs with the overlays' upper layers.
func (n *NS) nsDir() string { return filepath.Join(n.Dir, "ns") }

// A Launch says what runs in the namespace. Inside, as root, with the
// environment variables D (the instance directory) and R (Root, or empty):
// the mounts are made, then Setup runs (a shell script under `set -eu`),
// then Run starts as the only child of PID 1 (the shell, which waits for
// it and passes SIGTERM on): it must not exit while the server should run
// (a daemon's foreground mode, or a shell that waits). When it exits, the
// namespace ends.
type Launch struct {
	// Root is a package root from Root(): its usr/ is overlaid on /usr
	// (read-only), its etc/ on /etc and its var/ copied into /var (both
	// writable; the changes live in a tmpfs of the namespace and vanish
	// with it).
	Root  string
	Setup string
	Run   string
}

// Launch starts the namespace and returns once Setup has finished. On
// failure nothing of it is left running and the error carries the log. It
// may be called again after Stop (for instance with other ports).
func (n *NS) Launch(l Launch) error {
	n.mu.Lock()
	if n.cmd != nil {
		n.mu.Unlock()
		return errors.New("nstest: already launched; Stop first")
	}
	n.runs++
	n.mu.Unlock()
	ready := filepath.Join(n.nsDir(), "ready")
	_ = os.Remove(ready)
	if err := n.start(l); err != nil {
		return err
	}
	deadline := time.Now().Add(SetupTimeout)
	for !exists(ready) {
		select {
		case <-n.Exited():
			err := fmt.Errorf("namespace setup failed (%v)\n%s", n.exitState(), n.Log())
			_ = n.Stop(0)
			return err
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = n.Stop(0)
			return fmt.Errorf("namespace setup did not finish within %v\n%s", SetupTimeout, n.Log())
		}
	}
	return nil
}

// start runs the init script as PID 1 of new mount and PID namespaces. The
// child gets SIGKILL when the thread that started it ends: that thread is
// locked to a goroutine that lives until the child has been reaped, so the
// signal fires only when the test process dies.
func (n *NS) start(l Launch) error {
	logf, err := os.OpenFile(filepath.Join(n.nsDir(), "init.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	if fi, err := logf.Stat(); err == nil {
		n.mu.Lock()
		n.logOffset, n.sysMark = fi.Size(), n.sys.count()
		n.mu.Unlock()
	}
	fmt.Fprintf(logf, "=== launch %d at %s\n", n.runs, time.Now().Format(time.TimeOnly))
	cmd := exec.Command("/bin/sh", "-c", n.script(l))
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"D=" + n.Dir, "R=" + l.Root}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS, // Go also makes every mount private
		Setpgid:      true,
		Pdeathsig:    syscall.SIGKILL,
	}
	started, exited := make(chan error), make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start namespace: %w", err)
	}
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", cmd.Process.Pid))
	n.mu.Lock()
	n.cmd, n.exited, n.pidns = cmd, exited, link
	n.mu.Unlock()
	if err != nil {
		_ = n.Stop(0)
		return fmt.Errorf("namespace of pid %d: %w", cmd.Process.Pid, err)
	}
	return nil
}

// script is the init script: mounts, Setup, the ready mark, exec Run.
func (n *NS) script(l Launch) string {
	up := filepath.Join(n.nsDir(), "up")
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("set -eu")
	p("mount -t proc proc /proc")
	// Upper layers in a tmpfs of the namespace: the host never sees them,
	// and it works where /tmp is itself an overlay (containers).
	p("mkdir -p %s && mount -t tmpfs -o mode=0755 nsup %s", q(up), q(up))
	if l.Root != "" && exists(filepath.Join(l.Root, "usr")) {
		p("mount -t overlay overlay -o %s /usr", q("lowerdir="+filepath.Join(l.Root, "usr")+":/usr"))
	}
	for _, d := range []string{"etc", "var"} {
		// The default cache is under /var: a layer inside another layer of
		// the same overlay is refused (ELOOP), so root/var is copied in.
		lower := "/" + d
		if d == "etc" && l.Root != "" && exists(filepath.Join(l.Root, d)) {
			lower = filepath.Join(l.Root, d) + ":" + lower
		}
		u, w := filepath.Join(up, d, "u"), filepath.Join(up, d, "w")
		p("mkdir -p %s %s", q(u), q(w))
		p("mount -t overlay overlay -o %s /%s", q("lowerdir="+lower+",upperdir="+u+",workdir="+w), d)
	}
	if l.Root != "" && exists(filepath.Join(l.Root, "var")) {
		p("cp -a %s /var/", q(filepath.Join(l.Root, "var")+"/."))
	}
	p("mount -t tmpfs -o mode=0755 nsrun /run")
	// /dev/log is the test process's socket; /dev keeps its device nodes.
	u, w := filepath.Join(up, "dev", "u"), filepath.Join(up, "dev", "w")
	p("mkdir -p %s %s && ln -s %s %s", q(u), q(w), q(filepath.Join(n.nsDir(), "log.sock")), q(filepath.Join(u, "log")))
	p("mount -t overlay overlay -o %s /dev", q("lowerdir=/dev,upperdir="+u+",workdir="+w))
	p("mount -t tmpfs -o mode=1777 nsshm /dev/shm")
	p("%s", l.Setup)
	p(": >%s", q(filepath.Join(n.nsDir(), "ready")))
	// This shell stays PID 1, as root: a server that drops root (Cyrus's
	// master becomes "cyrus") loses its parent-death signal with the change
	// of credentials, this shell keeps it. SIGTERM goes on to the server;
	// when the server ends, the shell ends, and the kernel ends the rest.
	p("set +e")
	p("%s &", l.Run)
	p("child=$!")
	p("trap 'kill -TERM $child 2>/dev/null' TERM")
	p("wait $child; rc=$?")
	p("while [ $rc -gt 128 ] && kill -0 $child 2>/dev/null; do wait $child; rc=$?; done")
	p("exit $rc")
	return b.String()
}

// q quotes s for the shell.
func q(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Q quotes s for a Launch script.
func Q(s string) string { return q(s) }

// Exited is closed once PID 1 of the namespace has ended and every process
// of the namespace with it (nil channel before the first Launch).
func (n *NS) Exited() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exited
}

func (n *NS) exitState() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.ProcessState == nil {
		return "running"
	}
	return n.cmd.ProcessState.String()
}

// Running reports whether the namespace's PID 1 runs.
func (n *NS) Running() bool {
	ch := n.Exited()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM to PID 1, waits up to grace for it to end, then kills
// it. When Stop returns, every process of the namespace has ended (the
// kernel kills them with PID 1 and PID 1 is reaped only after them) and its
// mounts are gone. It is safe to call more than once, and before Launch.
func (n *NS) Stop(grace time.Duration) error {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	var err error
	if grace > 0 {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(grace):
			err = fmt.Errorf("pid 1 of the namespace did not end within %v of SIGTERM: killed", grace)
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	n.mu.Lock()
	n.cmd = nil
	n.mu.Unlock()
	return err
}

// Remove stops the namespace (grace as for Stop), closes the syslog socket
// and removes Dir. Safe to call more than once.
func (n *NS) Remove(grace time.Duration) error {
	err := n.Stop(grace)
	if n.sys != nil {
		n.sys.close()
	}
	if rmErr := os.RemoveAll(n.Dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// Command returns a command that runs args inside the namespace (with
// nsenter: same mounts, same PID namespace), as root, in "/". The namespace
// must be running.
func (n *NS) Command(args ...string) (*exec.Cmd, error) {
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if cmd == nil {
		return nil, errors.New("nstest: namespace not running")
	}
	nsenter, err := lookPath("nsenter")
	if err != nil {
		return nil, err
	}
	c := exec.Command(nsenter, append([]string{"--target", strconv.Itoa(cmd.Process.Pid), "--mount", "--pid", "--"}, args...)...)
	c.Dir = "/"
	c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	return c, nil
}

// Log returns the output of the init script (mounts, Setup, and whatever
// the servers write to stdout or stderr) and the syslog lines received.
func (n *NS) Log() string {
	var b strings.Builder
	if data, err := os.ReadFile(filepath.Join(n.nsDir(), "init.log")); err == nil && len(data) > 0 {
		fmt.Fprintf(&b, "== init and server output ==\n%s\n", strings.TrimRight(string(data), "\n"))
	}
	if n.sys != nil {
		if s := n.sys.text(); s != "" {
			fmt.Fprintf(&b, "== syslog ==\n%s\n", s)
		}
	}
	return b.String()
}

// currentLog returns the init.log output and the syslog lines of the
// current (or last) launch only.
func (n *NS) currentLog() string {
	n.mu.Lock()
	off, mark := n.logOffset, n.sysMark
	n.mu.Unlock()
	var b strings.Builder
	if data, err := os.ReadFile(filepath.Join(n.nsDir(), "init.log")); err == nil && int64(len(data)) >= off {
		b.Write(data[off:])
	}
	b.WriteString("\n")
	b.WriteString(n.sys.since(mark))
	return b.String()
}

// Syslog returns the syslog lines received so far, oldest first.
func (n *NS) Syslog() string {
	if n.sys == nil {
		return ""
	}
	return n.sys.text()
}
