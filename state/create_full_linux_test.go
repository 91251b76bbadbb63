//go:build linux

package state_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/state"
)

// TestCreateOnFullDisk creates a state file on a disk too small for a new
// bbolt file (four pages): a tmpfs of 8 KiB when the test may mount
// (root), else a file size limit of 8 KiB on this process (RLIMIT_FSIZE;
// MAILFERRY_TEST_NO_MOUNT=1 forces it). Open must fail and leave no
// file: a half-written one has meta pages pointing past its end, and
// every later Open would crash on it (SIGBUS). Once there is room, Open
// works.
func TestCreateOnFullDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	full, grow := syscall.ENOSPC, func() {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=1m"); err != nil {
			t.Fatal(err)
		}
	}
	err := errors.New("MAILFERRY_TEST_NO_MOUNT=1")
	if os.Getenv("MAILFERRY_TEST_NO_MOUNT") != "1" {
		err = syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8k,mode=0700")
	}
	if err == nil {
		t.Cleanup(func() {
			if err := syscall.Unmount(dir, 0); err != nil {
				t.Errorf("unmount: %v", err)
			}
		})
	} else {
		t.Logf("fallback to a file size limit: mount tmpfs: %v", err)
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 8 << 10, Max: old.Max}); err != nil {
			t.Fatal(err)
		}
		full, grow = syscall.EFBIG, func() { syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) }
		t.Cleanup(grow)
	}
	path := filepath.Join(dir, "state.db")
	s, err := state.Open(path, state.Options{})
	if !errors.Is(err, full) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open() on an 8 KiB disk = %v, want %v", err, full)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed Open left %s behind (stat: %v)", path, err)
	}
	grow()
	s = mustOpen(t, path, state.Options{})
	if err := s.SetFolder(ctx, "INBOX", state.FolderRecord{Indexed: true}); err != nil {
		t.Fatalf("SetFolder() with room = %v, want nil", err)
	}
	s.Close()
}
