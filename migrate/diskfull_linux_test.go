//go:build linux

package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/migrate"
)

// smallTmpfs mounts a tmpfs of that size ("256k") on a new directory and
// unmounts it when the test ends. Mounting needs root: without it the
// test is skipped, or failed in CI.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "mode=0700,size="+size); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot mount a tmpfs in CI: %v", err)
		}
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestSpoolDiskFullStopsRun spools to a 256 KiB tmpfs a 1 MiB message
// among small ones: the spool fails with ENOSPC. A full disk is not the
// message's fault: the run stops with that error (not a failed message,
// not a retry), appends no part of the message, leaves no spool file,
// and the next run, with room, copies every message once.
func TestSpoolDiskFullStopsRun(t *testing.T) {
	big := msg("big@x", strings.Repeat(strings.Repeat("b", 78)+"\r\n", 1<<20/80))
	msgs := append(tricky(), big, msg("after@x", "after the big one"))
	r := newRig(t, msgs)
	dir := smallTmpfs(t, "256k")
	r.opts.SpoolDir, r.opts.SpoolThreshold = dir, 64<<10
	rep, err := r.runErr(context.Background())
	if !errors.Is(err, syscall.ENOSPC) || migrate.ClassOf(err) != migrate.ClassFatal || rep.Failed() != 0 {
		t.Fatalf("Run() = %v (class %v), %d failed; want ENOSPC, fatal, no failed message", err, migrate.ClassOf(err), rep.Failed())
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
	r.opts.SpoolDir = t.TempDir()
	if rep := r.run(); rep.Failed() != 0 {
		t.Fatalf("run with room: %d failed", rep.Failed())
	}
	wantOnce(t, r.inbox(), msgs)
}
