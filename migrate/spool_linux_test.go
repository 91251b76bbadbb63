//go:build linux

package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSpoolWriteErrorSpoils makes the temp file's writes fail for real
// (its descriptor swapped for a read-only one: EBADF from the kernel, as
// a full disk gives ENOSPC): the file is removed at once and the spool
// refuses every later write and read, so no part of the message can be
// uploaded as if it were whole.
func TestSpoolWriteErrorSpoils(t *testing.T) {
	dir := t.TempDir()
	sp := newSpool(16, 16, dir, false, nil)
	if _, err := sp.Write(bytes.Repeat([]byte("x"), 32)); err != nil || sp.f == nil {
		t.Fatalf("Write() past the threshold = %v, file %v; want nil and a temp file", err, sp.f)
	}
	// The file has no name left: reopen it read-only through /proc.
	ro, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", sp.f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(ro.Fd()), int(sp.f.Fd()), syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	ro.Close()
	n, err := sp.Write([]byte("more"))
	if !errors.Is(err, syscall.EBADF) || !strings.Contains(err.Error(), "spool") {
		t.Fatalf("Write() on a failing file = %d, %v; want EBADF, saying spool", n, err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("spool files left after the write error, before Close: %v", files)
	}
	if _, err := sp.Write([]byte("x")); err == nil {
		t.Fatal("Write() after a write error = nil, want the error again")
	}
	if _, err := sp.ReadAt(make([]byte, 8), 0); err == nil || err == io.EOF {
		t.Fatalf("ReadAt() after a write error = %v, want the write error", err)
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("Close() after a write error = %v, want nil", err)
	}
}

// TestSpoolCannotCreate gives the spool a directory that is a file: the
// temp file cannot be created, the spool says so and holds nothing.
func TestSpoolCannotCreate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sp := newSpool(16, 16, file, false, nil)
	if _, err := sp.Write(bytes.Repeat([]byte("x"), 32)); !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("Write() = %v, want ENOTDIR", err)
	}
	if _, err := sp.ReadAt(make([]byte, 8), 0); err == nil || err == io.EOF {
		t.Fatalf("ReadAt() after a failed spool = %v, want the error", err)
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
}
