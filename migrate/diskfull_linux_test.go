//go:build linux

package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/migrate"
)

// smallDisk returns a directory where a file cannot grow past size
// bytes, the error a write past it gets, and a function that gives room:
// a tmpfs of that size (ENOSPC) when the test may mount (root), else an
// ordinary directory and a file size limit on this process (RLIMIT_FSIZE,
// EFBIG; it binds every file the test writes, and tests that do not call
// t.Parallel run alone). MAILFERRY_TEST_NO_MOUNT=1 forces the fallback.
//
//lint:ignore ST1008 the error is the one a full disk gives, not a failure of smallDisk
func smallDisk(t *testing.T, size int) (string, error, func()) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	err := errors.New("MAILFERRY_TEST_NO_MOUNT=1") // to exercise the fallback
	if os.Getenv("MAILFERRY_TEST_NO_MOUNT") != "1" {
		err = syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("mode=0700,size=%d", size))
	}
	if err == nil {
		t.Cleanup(func() {
			if err := syscall.Unmount(dir, 0); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		})
		grow := func() {
			if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=64m"); err != nil {
				t.Fatal(err)
			}
		}
		return dir, syscall.ENOSPC, grow
	}
	t.Logf("fallback to a file size limit: mount tmpfs: %v", err)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(size), Max: old.Max}); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	restore := func() { syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) }
	t.Cleanup(restore)
	return dir, syscall.EFBIG, restore
}

// TestSpoolDiskFullStopsRun spools to a 256 KiB disk a 1 MiB message
// among small ones: the spool fails with ENOSPC. A full disk is not the
// message's fault: the run stops with that error (not a failed message,
// not a retry), appends no part of the message, leaves no spool file,
// and the next run, with room, copies every message once.
func TestSpoolDiskFullStopsRun(t *testing.T) {
	big := msg("big@x", strings.Repeat(strings.Repeat("b", 78)+"\r\n", 1<<20/80))
	msgs := append(tricky(), big, msg("after@x", "after the big one"))
	r := newRig(t, msgs)
	dir, full, grow := smallDisk(t, 256<<10)
	r.opts.SpoolDir, r.opts.SpoolThreshold = dir, 64<<10
	rep, err := r.runErr(context.Background())
	if !errors.Is(err, full) || migrate.ClassOf(err) != migrate.ClassFatal || rep.Failed() != 0 {
		t.Fatalf("Run() = %v (class %v), %d failed; want %v, fatal, no failed message", err, migrate.ClassOf(err), rep.Failed(), full)
	}
	wanted := map[string]bool{} // what may be in the target, once
	for _, m := range msgs[:len(msgs)-2] {
		wanted[string(m)] = true
	}
	wanted[string(msgs[len(msgs)-1])] = true
	for i, m := range r.inbox() {
		if !wanted[string(m)] {
			t.Fatalf("target message %d (%d bytes) is partial, doubled or the unspoolable one", i, len(m))
		}
		delete(wanted, string(m))
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("spool files left: %v", left)
	}
	grow()
	if rep := r.run(); rep.Failed() != 0 {
		t.Fatalf("run with room: %d failed", rep.Failed())
	}
	wantOnce(t, r.inbox(), msgs)
}
