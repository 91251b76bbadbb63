package mbox

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMozillaStoreDetected(t *testing.T) {
	dir := t.TempDir()
	plain, tb := filepath.Join(dir, "plain"), filepath.Join(dir, "tb")
	os.MkdirAll(filepath.Join(tb, "Inbox.sbd"), 0o755)
	os.MkdirAll(plain, 0o755)
	os.WriteFile(filepath.Join(tb, "Inbox.sbd", "Work.msf"), nil, 0o644)
	os.WriteFile(filepath.Join(plain, "Inbox"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "single.msf"), nil, 0o644)
	for p, want := range map[string]bool{tb: true, plain: false, filepath.Join(dir, "single"): true, filepath.Join(plain, "Inbox"): false} {
		if got := mozillaStore(p); got != want {
			t.Errorf("mozillaStore(%s) = %v, want %v", p, got, want)
		}
	}
}
