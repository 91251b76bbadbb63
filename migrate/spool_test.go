package migrate

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"
)

func TestSpoolFileIsPrivateAndRemoved(t *testing.T) {
	dir := t.TempDir()
	sp := newSpool(16, 16, dir, false, nil)
	msg := bytes.Repeat([]byte("0123456789"), 10)
	if _, err := sp.Write(msg); err != nil {
		t.Fatal(err)
	}
	if sp.f == nil {
		t.Fatal("no spool file past the threshold")
	}
	if fi, err := sp.f.Stat(); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("spool file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	// Its name is gone already: a killed run leaves nothing on disk.
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("spool files visible while in use: %v", files)
	}
	got, err := io.ReadAll(io.NewSectionReader(sp, 0, sp.Size()))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("spool gave %q, %v; want the bytes written", got, err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("spool files left after Close: %v", files)
	}
}
