package eml

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A sample is one file of a test tree.
type sample struct {
	path string // relative, "/"-separated
	body string
	date time.Time // mtime; zero means base
}

var base = time.Date(2019, 5, 4, 10, 30, 0, 0, time.UTC)

// build writes samples under a new temporary directory and returns it.
func build(t *testing.T, samples []sample) string {
	t.Helper()
	root := t.TempDir()
	for _, s := range samples {
		p := filepath.Join(root, filepath.FromSlash(s.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s.body), 0o644); err != nil {
			t.Fatal(err)
		}
		d := s.date
		if d.IsZero() {
			d = base
		}
		if err := os.Chtimes(p, d, d); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// mkdirs creates empty directories under root.
func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// A fileState is what must not change: bytes, mtime, mode.
type fileState struct {
	body  []byte
	mtime time.Time
	mode  fs.FileMode
}

// snapshot records every file and directory under root.
func snapshot(t *testing.T, root string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{mtime: info.ModTime(), mode: info.Mode()}
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

// unchanged fails t if root differs from the snapshot before.
func unchanged(t *testing.T, root string, before map[string]fileState) {
	t.Helper()
	after := snapshot(t, root)
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
