package state

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func TestBeginAllAndCommitAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ks []KeyRecord
	var ops []CommitOp
	for i := range 100 {
		k := KeyRecord{Key: fmt.Sprintf("<m%d@x>", i), BodyHash: "b", Folder: "INBOX", Size: int64(i)}
		ks = append(ks, k)
		if i%2 == 0 {
			k.UID = uint32(i + 1)
			ops = append(ops, CommitOp{Key: k, Source: "src", RefID: fmt.Sprint(i)})
		}
	}
	if err := s.BeginAll(ctx, ks); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(); len(p) != 100 {
		t.Fatalf("Pending() = %d records after BeginAll, want 100", len(p))
	}
	if err := s.CommitAll(ctx, ops); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, _ := s.Pending(); len(p) != 50 {
		t.Fatalf("Pending() = %d records after CommitAll of half, want 50", len(p))
	}
	r, ok, err := s.Ref("src", "42")
	if err != nil || !ok || r.UID != 43 || r.State != RefCopied {
		t.Fatalf("Ref(src, 42) = %+v, %v, %v; want UID 43 copied", r, ok, err)
	}
	if err := s.CommitAll(ctx, []CommitOp{{Key: KeyRecord{Key: "", Folder: "x"}}}); err == nil {
		t.Fatal("CommitAll with an empty key succeeded, want an error")
	}
}
