package state

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// commitDirect is Commit without the writer: one bbolt Update (one fsync)
// per call. It is the baseline of BenchmarkCommitParallel.
func (s *Store) commitDirect(k KeyRecord, source, refID string, r RefRecord) error {
	apply, err := commitApply(k, source, refID, r)
	if err != nil {
		return err
	}
	return s.db.Update(apply)
}

// BenchmarkCommitParallel measures Commit from 32 goroutines with fsync
// on, through the writer ("grouped") and with one Update per call
// ("update-per-call"). The commits/s metric is what to compare.
func BenchmarkCommitParallel(b *testing.B) {
	b.Run("grouped", func(b *testing.B) {
		benchCommits(b, func(s *Store, k KeyRecord, src, id string) error {
			return s.Commit(context.Background(), k, src, id, RefRecord{})
		})
	})
	b.Run("update-per-call", func(b *testing.B) {
		benchCommits(b, func(s *Store, k KeyRecord, src, id string) error {
			return s.commitDirect(k, src, id, RefRecord{})
		})
	})
}

const benchWorkers = 32

func benchCommits(b *testing.B, commit func(s *Store, k KeyRecord, src, id string) error) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	for range benchWorkers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				k := KeyRecord{Key: fmt.Sprintf("%d@bench.example.org", i), BodyHash: "0123456789abcdef", Folder: "INBOX", UID: uint32(i + 1), Size: 4096}
				if err := commit(s, k, "pop3s://alice@pop.example.org:995", fmt.Sprint("uidl-", i)); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
