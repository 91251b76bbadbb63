package sourcetest

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Unprivileged runs fn so that file permissions apply to it even when the
// test runs as root (root reads a file of mode 000 all the same): on a
// goroutine locked to an OS thread whose file-system user is nobody
// (65534) when the test runs as root, which drops root's power to bypass
// permissions for that thread alone (Linux setfsuid). The thread ends with
// fn. A file or directory made mode 000 is then unreadable to fn,
// whoever runs the test. dir, and its parents up to the temporary
// directory, are made searchable by others first, so that nobody reaches
// the rest of the tree.
//
// fn must do its file work itself, not in other goroutines, and must not
// call t.Fatal or t.FailNow (use t.Error, or return what it found). It
// fails t if permissions cannot be made to apply.
func Unprivileged(t testing.TB, dir string, fn func()) {
	t.Helper()
	openParents(t, dir)
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.Mkdir(probe, 0); err != nil {
		t.Fatal(err)
	}
	openParents(t, filepath.Dir(probe))
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if os.Geteuid() == 0 {
			if err := dropFileRoot(); err != nil {
				done <- err
				return
			}
		}
		if _, err := os.ReadDir(probe); err == nil {
			done <- errors.New("a directory of mode 000 is readable: permissions do not apply")
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("Unprivileged: %v", err)
	}
}

// openParents makes dir and its parents under the temporary directory
// searchable and readable by others (t.TempDir makes them 0700).
func openParents(t testing.TB, dir string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, tmp+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// Deny makes the files and directories at paths mode 000 until the test
// ends (then 0755 for a directory, 0644 for a file, so that the test's
// temporary directory can be removed).
func Deny(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if fi.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(p, mode) })
	}
}
