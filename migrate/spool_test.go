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

// A message known to be larger than the threshold goes to the temp file
// at its first write: no buffer grown in steps only to be copied there.
func TestSpoolFileFirst(t *testing.T) {
	sp := newSpool(16, 16, t.TempDir(), false, func(int64) error {
		t.Fatal("grow called: the spool wanted more memory")
		return nil
	})
	sp.fileFirst = true
	defer sp.Close()
	msg := []byte("0123456789")
	for range 10 {
		if _, err := sp.Write(msg); err != nil {
			t.Fatal(err)
		}
		if sp.f == nil || sp.buf != nil {
			t.Fatalf("spool in memory (%d bytes) after a write, want the temp file", len(sp.buf))
		}
	}
	got, err := io.ReadAll(io.NewSectionReader(sp, 0, sp.Size()))
	if err != nil || !bytes.Equal(got, bytes.Repeat(msg, 10)) {
		t.Fatalf("spool gave %q, %v; want the bytes written", got, err)
	}
	if extra := sp.trim(); extra != 0 {
		t.Errorf("trim() = %d, want 0 (the charge stays for a spooled message)", extra)
	}
}
