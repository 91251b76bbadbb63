package sourcetest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A FileState is what must not change: bytes, mtime, mode.
type FileState struct {
	body  []byte
	mtime time.Time
	mode  fs.FileMode
}

// Snapshot records every file and directory under root: a source must
// leave them as they were.
func Snapshot(t testing.TB, root string) map[string]FileState {
	t.Helper()
	m := map[string]FileState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := FileState{mtime: info.ModTime(), mode: info.Mode()}
		if !d.IsDir() {
			if st.body, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		m[p] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Unchanged fails t if any file or directory under root differs from
// the Snapshot before: bytes, mtime or mode.
func Unchanged(t testing.TB, root string, before map[string]FileState) {
	t.Helper()
	after := Snapshot(t, root)
	if len(after) != len(before) {
		t.Errorf("tree has %d entries after, %d before", len(after), len(before))
	}
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			t.Errorf("%s: gone", p)
		case !bytes.Equal(a.body, b.body) || !a.mtime.Equal(b.mtime) || a.mode != b.mode:
			t.Errorf("%s: changed (mtime %v -> %v, mode %v -> %v)", p, b.mtime, a.mtime, b.mode, a.mode)
		}
	}
}

// A File is one file of a test tree that Build writes.
type File struct {
	Path string // relative, "/"-separated
	Body string
	Date time.Time // mtime; zero means TreeTime
}

// TreeTime is the mtime of a File without a Date.
var TreeTime = time.Date(2019, 5, 4, 10, 30, 0, 0, time.UTC)

// Build writes files under a new temporary directory and returns it.
func Build(t testing.TB, files []File) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.Body), 0o644); err != nil {
			t.Fatal(err)
		}
		d := f.Date
		if d.IsZero() {
			d = TreeTime
		}
		if err := os.Chtimes(p, d, d); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// Mkdirs creates empty directories under root.
func Mkdirs(t testing.TB, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
