package state_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mailferry/mailferry/state"
)

// TestKeysListsEveryRecord writes more key records than one read chunk,
// some pending, some committed, then lists them from a read-only store:
// each once, in key order, with its state.
func TestKeysListsEveryRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := mustOpen(t, path, state.Options{})
	if err := s.Keys(func(k state.KeyRecord) error {
		return fmt.Errorf("called for %+v on an empty store", k)
	}); err != nil {
		t.Fatalf("Keys() on an empty store = %v, want nil", err)
	}
	const n = 2500 // over two chunks
	var ks []state.KeyRecord
	for i := range n {
		ks = append(ks, state.KeyRecord{Key: fmt.Sprintf("<m%05d@example.org>", i), BodyHash: "bh",
			Folder: "INBOX", Size: int64(i), Source: "src", RefID: fmt.Sprint(i), At: at})
	}
	if err := s.BeginAll(ctx, ks); err != nil {
		t.Fatalf("BeginAll() = %v, want nil", err)
	}
	var ops []state.CommitOp
	for i := 0; i < n; i += 3 {
		k := ks[i]
		k.UID = uint32(i + 1)
		ops = append(ops, state.CommitOp{Key: k, Source: "src", RefID: k.RefID})
	}
	if err := s.CommitAll(ctx, ops); err != nil {
		t.Fatalf("CommitAll() = %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	ro := mustOpen(t, path, state.Options{ReadOnly: true})

	i := 0
	err := ro.Keys(func(k state.KeyRecord) error {
		want := ks[i]
		want.Pending = i%3 != 0
		if !want.Pending {
			want.UID = uint32(i + 1)
		}
		if normKey(k) != normKey(want) {
			return fmt.Errorf("record %d = %+v, want %+v", i, k, want)
		}
		i++
		return nil
	})
	if err != nil || i != n {
		t.Fatalf("Keys() = %v after %d records, want nil after %d", err, i, n)
	}

	stop := errors.New("stop")
	calls := 0
	err = ro.Keys(func(state.KeyRecord) error {
		calls++
		if calls == 1500 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 1500 {
		t.Fatalf("Keys() with fn failing at call 1500 = %v after %d calls, want %v after 1500", err, calls, stop)
	}
}
