package sourcetest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCRLF(t *testing.T) {
	cases := map[string]string{"a\nb\r\nc\n": "a\r\nb\r\nc\r\n", "\n": "\r\n", "x": "x", "\r\n": "\r\n"}
	for in, want := range cases {
		if got := string(CRLF([]byte(in))); got != want {
			t.Errorf("CRLF(%q) = %q, want %q", in, got, want)
		}
		if bareLF(CRLF([]byte(in))) != -1 {
			t.Errorf("CRLF(%q) left a bare LF", in)
		}
	}
}

func TestUnchangedSeesChanges(t *testing.T) {
	for name, change := range map[string]func(p string){
		"bytes": func(p string) { os.WriteFile(p, []byte("y"), 0o644) },
		"mtime": func(p string) { os.Chtimes(p, time.Unix(1, 0), time.Unix(1, 0)) },
		"mode":  func(p string) { os.Chmod(p, 0o600) },
		"gone":  func(p string) { os.Remove(p) },
	} {
		root := t.TempDir()
		p := filepath.Join(root, "f")
		os.WriteFile(p, []byte("x"), 0o644)
		os.Chtimes(p, time.Unix(2, 0), time.Unix(2, 0))
		before := Snapshot(t, root)
		change(p)
		ft := &fakeT{TB: t}
		Unchanged(ft, root, before)
		if !ft.failed {
			t.Errorf("%s: Unchanged did not fail", name)
		}
	}
}

// fakeT records failures instead of failing the test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatal(...any)          { f.failed = true }
func (f *fakeT) Helper()               {}
