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

// TestCreateOnFullDisk creates a state file on a tmpfs too small for a
// new bbolt file (four pages). Open must fail with ENOSPC and leave no
// file: a half-written one has meta pages pointing past its end, and
// every later Open would crash on it (SIGBUS). Once there is room, Open
// works. Needs to mount a tmpfs (root): skipped otherwise, failed in CI.
func TestCreateOnFullDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8k,mode=0700"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot mount a tmpfs in CI: %v", err)
		}
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	path := filepath.Join(dir, "state.db")
	s, err := state.Open(path, state.Options{})
	if !errors.Is(err, syscall.ENOSPC) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open() on an 8 KiB disk = %v, want ENOSPC", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed Open left %s behind (stat: %v)", path, err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=1m"); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, state.Options{})
	if err := s.SetFolder(ctx, "INBOX", state.FolderRecord{Indexed: true}); err != nil {
		t.Fatalf("SetFolder() with room = %v, want nil", err)
	}
	s.Close()
}
