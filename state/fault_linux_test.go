//go:build linux

package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// faultyFile opens a store whose file descriptor a test can swap for a
// read-only one, so that bbolt's writes (pwrite, ftruncate) fail with a
// real error from the kernel, as they would on a failing disk.
type faultyFile struct {
	fd, saved int
}

func openFaulty(t *testing.T) (*Store, *faultyFile) {
	t.Helper()
	ff := &faultyFile{fd: -1, saved: -1}
	path := filepath.Join(t.TempDir(), "state.db")
	opts := Options{openFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err == nil {
			ff.fd = int(f.Fd())
		}
		return f, err
	}}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, ff
}

// breakWrites points the store's descriptor at a read-only open of path,
// keeping a duplicate of the original (and so its lock) for heal.
func (ff *faultyFile) breakWrites(t *testing.T, path string) {
	t.Helper()
	saved, err := syscall.Dup(ff.fd)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(ro)
	if err := syscall.Dup3(ro, ff.fd, syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	ff.saved = saved
}

func (ff *faultyFile) heal(t *testing.T) {
	t.Helper()
	if err := syscall.Dup3(ff.saved, ff.fd, syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	syscall.Close(ff.saved)
}

func TestWriteErrorReachesEveryWaiter(t *testing.T) {
	s, ff := openFaulty(t)
	ctx := context.Background()
	good := KeyRecord{Key: "good", BodyHash: "h", Folder: "INBOX", UID: 1}
	if err := s.Commit(ctx, good, "src", "good", RefRecord{}); err != nil {
		t.Fatalf("Commit() = %v, want nil", err)
	}

	ff.breakWrites(t, s.Path())
	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := KeyRecord{Key: fmt.Sprint("bad", i), BodyHash: "h", Folder: "INBOX", UID: 2}
			errs[i] = s.Commit(ctx, k, "src", k.Key, RefRecord{})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("Commit(bad%d) on a failing disk = nil, want an error", i)
		}
	}
	t.Logf("write error: %v", errs[0])

	// Reads still work, and see nothing of the failed writes.
	if recs, err := s.Lookup("good"); err != nil || len(recs) != 1 {
		t.Errorf("Lookup(good) after a write error = %v, %v, want one record", recs, err)
	}
	if recs, err := s.Lookup("bad0"); err != nil || len(recs) != 0 {
		t.Errorf("Lookup(bad0) after its write failed = %v, %v, want none", recs, err)
	}

	// Once the disk works again, so does the store, and the file is sound.
	ff.heal(t)
	if err := s.Commit(ctx, KeyRecord{Key: "after", BodyHash: "h", Folder: "INBOX"}, "src", "after", RefRecord{}); err != nil {
		t.Fatalf("Commit() after healing = %v, want nil", err)
	}
	checkFile(t, s)
}

// checkFile reopens s and runs bbolt's consistency check.
func checkFile(t *testing.T, s *Store) {
	t.Helper()
	path := s.Path()
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	err = s2.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("bbolt check = %v, want nil", err)
	}
	for _, key := range []string{"good", "after"} {
		if recs, err := s2.Lookup(key); err != nil || len(recs) != 1 {
			t.Errorf("Lookup(%q) after reopen = %v, %v, want one record", key, recs, err)
		}
	}
}
