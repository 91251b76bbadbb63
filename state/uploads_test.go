package state

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestUploadsRollingWindow(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 12, 0, 30, 0, time.UTC)
	for _, u := range []struct {
		at time.Duration
		n  int64
	}{{0, 100}, {10 * time.Second, 50}, {time.Hour, 7}, {49 * time.Hour, 1}} {
		if err := s.AddUpload(ctx, t0.Add(u.at), u.n); err != nil {
			t.Fatal(err)
		}
	}
	// The first minute is older than 48 h at the last add: dropped.
	n, oldest, err := s.Uploads(t0.Add(-time.Hour))
	if err != nil || n != 8 || !oldest.Equal(time.Date(2026, 1, 1, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("Uploads() = %d, %v, %v; want 8 from 13:00", n, oldest, err)
	}
	// Shared across opens.
	s.Close()
	s, err = Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _, _ := s.Uploads(t0.Add(48 * time.Hour)); n != 1 {
		t.Errorf("after reopening: %d bytes in the window, want 1", n)
	}
}
