//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Disk trouble (issue 4): a state directory that cannot be written, a
// state file whose disk fills up during a run, a spool whose disk fills
// up. Each fault is real: a read-only or tiny tmpfs when the test may
// mount (root, as in CI), else a fallback that the test log names.

// mountTmpfs mounts a tmpfs with the mount options opts ("size=64k",
// "ro,size=64k") on a new directory and unmounts it when the test ends.
// The error says why it cannot when this process may not mount;
// MAILFERRY_TEST_NO_MOUNT=1 pretends so, to exercise the fallbacks.
func mountTmpfs(t *testing.T, opts string) (string, error) {
	t.Helper()
	if os.Getenv("MAILFERRY_TEST_NO_MOUNT") == "1" {
		return "", errors.New("MAILFERRY_TEST_NO_MOUNT=1")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	flags, data := mountOptions(opts)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, data); err != nil {
		return "", fmt.Errorf("mount -t tmpfs -o %s: %w", opts, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir, nil
}

// remountTmpfs changes the options of a tmpfs that mountTmpfs mounted:
// "ro", "size=8m" (read-write).
func remountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	flags, data := mountOptions(opts)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags|syscall.MS_REMOUNT, data); err != nil {
		t.Fatalf("remount %s -o %s: %v", dir, opts, err)
	}
}

func mountOptions(opts string) (uintptr, string) {
	var flags uintptr
	data := []string{"mode=0700"}
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "ro":
			flags |= syscall.MS_RDONLY
		case "", "rw":
		default:
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

// noFault ends a test whose fault cannot be injected here: a skip, but a
// failure in CI, where every fault must be tested.
func noFault(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("cannot inject the fault in CI: "+format, args...)
	}
	t.Skipf("cannot inject the fault: "+format, args...)
}

// writable reports whether this process can create a file in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, "probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// readOnlyDir returns an empty directory in which mailferry cannot
// create a file, and the words of the error it gets: a read-only tmpfs,
// or without mounting a directory of mode 0500 (which binds only a user
// other than root).
func readOnlyDir(t *testing.T) (dir, why string) {
	t.Helper()
	dir, err := mountTmpfs(t, "ro,size=64k")
	if err == nil {
		return dir, "read-only file system"
	}
	t.Logf("fallback to permission bits: %v", err)
	dir = filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if writable(dir) {
		noFault(t, "no mount (%v), and mode 0500 does not stop uid %d", err, os.Getuid())
	}
	return dir, "permission denied"
}

// setState points the job's config at another state file.
func (e *e2e) setState(path string) {
	e.t.Helper()
	text, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	old := "state: " + filepath.Join(e.dir, "state.db") + "\n"
	if !bytes.Contains(text, []byte(old)) {
		e.t.Fatalf("config %s has no %q", e.config, old)
	}
	text = bytes.Replace(text, []byte(old), []byte("state: "+path+"\n"), 1)
	if err := os.WriteFile(e.config, text, 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// runLimited runs mailferry like e.run, with prefix before the command
// (e.g. prlimit) when prefix is not empty.
func (e *e2e) runLimited(prefix []string, env []string, args ...string) (int, string) {
	e.t.Helper()
	if len(prefix) == 0 {
		return e.run(env, args...)
	}
	exe, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	argv := append(append(prefix[1:], exe, "migrate", "--config", e.config), args...)
	cmd := exec.Command(prefix[0], argv...)
	cmd.Env = append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1",
		"MAILFERRY_SOURCE_PASSWORD="+popPass, "MAILFERRY_TARGET_PASSWORD="+imapPass)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		e.t.Fatalf("mailferry did not exit: %v\n%s", err, out.String())
	}
	for _, secret := range []string{popPass, imapPass} {
		if strings.Contains(out.String(), secret) {
			e.t.Fatalf("output shows a password:\n%s", out.String())
		}
	}
	return code, out.String()
}

// wantSomeOnce checks that each message in the target is one of want,
// whole, and there once.
func wantSomeOnce(t *testing.T, got, want [][]byte) {
	t.Helper()
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[string(crlf(w))] = true
	}
	seen := map[string]bool{}
	for i, g := range got {
		if !wanted[string(g)] || seen[string(g)] {
			t.Fatalf("target message %d (%d bytes, %.80q) is partial, unexpected or a duplicate", i, len(g), g)
		}
		seen[string(g)] = true
	}
}

// summaryCount returns the number on the summary line that starts with
// label ("copied:"), 0 when there is none.
func summaryCount(t *testing.T, out, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` +(\d+)`).FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// wantAccounted checks the run after a failed one against what the
// failed one left in the target (at least inTarget of total messages:
// APPENDs it had in flight may land after it exits). Each message is
// counted once: committed by the failed run, recovered by the next
// through its pending record, or copied by the next. None is merely
// found present, which would mean the state lost track of an APPEND.
func wantAccounted(t *testing.T, failed, next string, inTarget, total int) {
	t.Helper()
	committed := summaryCount(t, failed, "copied:")
	recovered, present := summaryCount(t, next, "recovered:"), summaryCount(t, next, "already present:")
	copied := summaryCount(t, next, "copied:")
	if committed+recovered+copied != total || present != 0 || committed+recovered < inTarget {
		t.Fatalf("the failed run committed %d and left at least %d in the target; the next run recovered %d, "+
			"found %d present, copied %d; want %d in all, none present:\n%s", committed, inTarget, recovered, present,
			copied, total, next)
	}
	t.Logf("the failed run committed %d and left %d in the target; the next run recovered %d and copied %d",
		committed, inTarget, recovered, copied)
}

// someMail returns n small messages with Message-IDs tagged by tag.
func someMail(tag string, n int) [][]byte {
	var msgs [][]byte
	for i := range n {
		msgs = append(msgs, mail(fmt.Sprintf("%s%04d@example.org", tag, i), fmt.Sprintf("%s %d", tag, i),
			strings.Repeat(fmt.Sprintf("%s line %d\r\n", tag, i), 10+i%50)))
	}
	return msgs
}

// wantStopped checks a run that a fault must stop: its exit code, and
// that the output names the path and says what is wrong.
func wantStopped(t *testing.T, code int, out string, wantCode int, words ...string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("exit %d, want %d:\n%s", code, wantCode, out)
	}
	for _, w := range words {
		if !strings.Contains(out, w) {
			t.Fatalf("output does not say %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "panic") {
		t.Fatalf("output shows a panic:\n%s", out)
	}
	t.Logf("exit %d:\n%s", code, out)
}

// TestDovecotStateNotWritable gives mailferry a state path where no state
// file can be created or written. It must stop before touching the
// target, with exit 2 (the configured state path is unusable: a person
// must change it or the file system before any run can succeed) and a
// message naming the path and the reason, and create nothing.
func TestDovecotStateNotWritable(t *testing.T) {
	msgs := someMail("nw", 5)
	t.Run("parent is a regular file", func(t *testing.T) {
		e := newE2E(t, msgs)
		file := filepath.Join(e.dir, "notadir")
		if err := os.WriteFile(file, []byte("a file, not a directory\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(file, "state.db")
		e.setState(path)
		code, out := e.run(nil)
		wantStopped(t, code, out, exitUsage, path, "not a directory")
		if got := e.target(); len(got) != 0 {
			t.Fatalf("%d messages written to the target", len(got))
		}
	})
	t.Run("directory not writable", func(t *testing.T) {
		e := newE2E(t, msgs)
		dir, why := readOnlyDir(t)
		path := filepath.Join(dir, "state.db")
		e.setState(path)
		code, out := e.run(nil)
		wantStopped(t, code, out, exitUsage, path, why)
		if got := e.target(); len(got) != 0 {
			t.Fatalf("%d messages written to the target", len(got))
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("left in the state directory: %v", left)
		}
	})
}

// TestDovecotStateBecomesReadOnly lets a run copy some mail, then makes
// the state file read-only underneath it (its tmpfs remounted read-only,
// or without mounting mode 0400 in a 0500 directory): the next run stops
// with exit 2 before writing anything anywhere, and once the file system
// is writable again a run copies the rest, each message once.
func TestDovecotStateBecomesReadOnly(t *testing.T) {
	first, later := someMail("ro-first", 5), someMail("ro-later", 5)
	e := newE2E(t, first)
	dir, err := mountTmpfs(t, "size=1m")
	lock, unlock, why := func() { remountTmpfs(t, dir, "ro,size=1m") }, func() { remountTmpfs(t, dir, "size=1m") }, "read-only file system"
	if err != nil {
		t.Logf("fallback to permission bits: %v", err)
		dir = filepath.Join(t.TempDir(), "state")
		os.Mkdir(dir, 0o700)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		lock = func() { os.Chmod(filepath.Join(dir, "state.db"), 0o400); os.Chmod(dir, 0o500) }
		unlock = func() { os.Chmod(dir, 0o700); os.Chmod(filepath.Join(dir, "state.db"), 0o600) }
		why = "permission denied"
	}
	path := filepath.Join(dir, "state.db")
	e.setState(path)
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("first run exit %d:\n%s", code, out)
	}
	e.dc.Seed(t, "alice", "INBOX", later)
	lock()
	if writable(dir) {
		unlock()
		noFault(t, "no mount (%v), and mode 0500 does not stop uid %d", err, os.Getuid())
	}
	before := snapshot(t, dir)
	code, out := e.run(nil)
	wantStopped(t, code, out, exitUsage, path, why)
	wantEachOnce(t, e.target(), first)
	if after := snapshot(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("state directory changed by the refused run:\n%v\n%v", before, after)
	}
	unlock()
	if code, out := e.run(nil); code != exitOK || !strings.Contains(out, "copied:          5") {
		t.Fatalf("run after the file system was made writable: exit %d, want 0 and 5 copied:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), append(first, later...))
}

// TestDovecotStateImmutable marks the state file immutable (chattr +i:
// even root cannot write it). Needs CAP_LINUX_IMMUTABLE and a file system
// with the attribute; skipped otherwise, since the other tests cover a
// state that cannot be written.
func TestDovecotStateImmutable(t *testing.T) {
	first, later := someMail("imm-first", 3), someMail("imm-later", 3)
	e := newE2E(t, first)
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("first run exit %d:\n%s", code, out)
	}
	path := filepath.Join(e.dir, "state.db")
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		noFault(t, "chattr +i: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	e.dc.Seed(t, "alice", "INBOX", later)
	code, out := e.run(nil)
	wantStopped(t, code, out, exitUsage, path, "operation not permitted")
	wantEachOnce(t, e.target(), first)
	if out, err := exec.Command("chattr", "-i", path).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v %s", err, out)
	}
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("run after chattr -i: exit %d:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), append(first, later...))
}

// A smallDisk is a directory with little room: a tmpfs of that size when
// the test may mount, else an ordinary directory and a file size limit
// on mailferry (RLIMIT_FSIZE, through prlimit), which fails writes past
// it with EFBIG as a full disk fails them with ENOSPC.
type smallDisk struct {
	t      *testing.T
	dir    string
	prefix []string // the prlimit command in the fallback
	full   string   // how the failure reads
}

func newSmallDisk(t *testing.T, size int) *smallDisk {
	t.Helper()
	dir, err := mountTmpfs(t, fmt.Sprintf("size=%d", size))
	if err == nil {
		return &smallDisk{t: t, dir: dir, full: "no space left on device"}
	}
	prlimit, lerr := exec.LookPath("prlimit")
	if lerr != nil {
		noFault(t, "no mount (%v) and no prlimit (%v)", err, lerr)
	}
	t.Logf("fallback to a file size limit: %v", err)
	dir = filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &smallDisk{t: t, dir: dir, full: "file too large",
		prefix: []string{prlimit, fmt.Sprintf("--fsize=%d", size), "--"}}
}

// grow gives the disk room.
func (d *smallDisk) grow() {
	if d.prefix == nil {
		remountTmpfs(d.t, d.dir, "size=64m")
	}
	d.prefix = nil
}

// TestDovecotStateDiskFills puts the state file on a disk that fills up
// during the run: a bbolt transaction (a Begin or a Commit) fails with
// ENOSPC. The run must stop with an error (exit 1: the run failed, the
// setup is sound), and once there is room a run must finish with each
// message in the target once: those appended before the failure are
// found through their pending records, not appended again.
func TestDovecotStateDiskFills(t *testing.T) {
	msgs := someMail("full", 600)
	e := newE2E(t, msgs)
	d := newSmallDisk(t, 256<<10)
	path := filepath.Join(d.dir, "state.db")
	e.setState(path)
	code, out := e.runLimited(d.prefix, nil)
	wantStopped(t, code, out, exitFailed, path, d.full)
	copied := e.target()
	if len(copied) == len(msgs) {
		t.Fatalf("all %d messages copied on a full disk: make the disk smaller", len(msgs))
	}
	wantSomeOnce(t, copied, msgs)
	d.grow()
	next, nout := e.run(nil)
	if next != exitOK {
		t.Fatalf("run with room: exit %d:\n%s", next, nout)
	}
	wantEachOnce(t, e.target(), msgs)
	wantAccounted(t, out, nout, len(copied), len(msgs))
}

// TestDovecotStateDiskFullAtCreation gives the state file a disk too
// small for a new bbolt file (four pages): creating it fails. The run
// stops before touching the target and, once there is room, a run copies
// everything: the failed creation left nothing that blocks it.
func TestDovecotStateDiskFullAtCreation(t *testing.T) {
	msgs := someMail("create", 5)
	e := newE2E(t, msgs)
	d := newSmallDisk(t, 8<<10)
	path := filepath.Join(d.dir, "state.db")
	e.setState(path)
	code, out := e.runLimited(d.prefix, nil)
	wantStopped(t, code, out, exitFailed, path, d.full)
	if got := e.target(); len(got) != 0 {
		t.Fatalf("%d messages written to the target", len(got))
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the failed creation left %s behind (stat: %v)", path, err)
	}
	d.grow()
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("run with room: exit %d:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), msgs)
}

// TestDovecotDiskFullWhileSpooling puts the spool directory (TMPDIR) on a
// 2 MiB disk and a 3 MiB message in the maildrop, between small ones:
// spooling it fails with ENOSPC. A full disk is not the message's fault,
// so the run stops (exit 1) saying so, appends no partial message, leaves
// no spool file, and once there is room a run copies everything once.
func TestDovecotDiskFullWhileSpooling(t *testing.T) {
	small := someMail("spool", 40)
	big := mail("big@example.org", "3 MiB", strings.Repeat(strings.Repeat("B", 76)+"\r\n", 3<<20/78))
	msgs := append(append(append([][]byte{}, small[:20]...), big), small[20:]...)
	e := newE2E(t, msgs)
	d := newSmallDisk(t, 2<<20)
	env := []string{"TMPDIR=" + d.dir}
	code, out := e.runLimited(d.prefix, env)
	wantStopped(t, code, out, exitFailed, "spool", d.dir, d.full, "The disk is full")
	copied := e.target()
	wantSomeOnce(t, copied, msgs)
	for _, m := range copied {
		if bytes.Equal(m, crlf(big)) {
			t.Fatal("the big message reached the target although it could not be spooled")
		}
	}
	if left, _ := os.ReadDir(d.dir); len(left) != 0 {
		t.Fatalf("spool files left behind: %v", left)
	}
	d.grow()
	next, nout := e.runLimited(d.prefix, env)
	if next != exitOK {
		t.Fatalf("run with room: exit %d:\n%s", next, nout)
	}
	wantEachOnce(t, e.target(), msgs)
	wantAccounted(t, out, nout, len(copied), len(msgs))
	if left, _ := os.ReadDir(d.dir); len(left) != 0 {
		t.Fatalf("spool files left behind after the run with room: %v", left)
	}
}
