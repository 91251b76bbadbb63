//go:build unix

package state_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mailferry/mailferry/state"
)

// TestFileMode checks the modes of a new file and directory whatever the
// umask. It changes the process's umask, so it must not run in parallel.
func TestFileMode(t *testing.T) {
	for _, mask := range []int{0, 0o077, 0o277} {
		t.Run(fmt.Sprintf("umask%03o", mask), func(t *testing.T) {
			old := syscall.Umask(mask)
			defer syscall.Umask(old)
			dir := filepath.Join(t.TempDir(), "new")
			path := filepath.Join(dir, "state.db")
			s := mustOpen(t, path, state.Options{})
			if err := s.SetFolder(ctx, "INBOX", state.FolderRecord{}); err != nil {
				t.Fatalf("SetFolder() = %v, want nil", err)
			}
			checkMode(t, path, 0o600)
			checkMode(t, dir, 0o700|fs.ModeDir)
		})
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}
