package maildir

import (
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
