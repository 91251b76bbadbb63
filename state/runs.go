package state

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// AddRun appends r to the run history. It returns when the record is
// durable, or when ctx ends (the record may then still be written).
func (s *Store) AddRun(ctx context.Context, r Run) error {
	v := encodeRun(r)
	return s.write(ctx, "add run", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, seq), v)
	})
}

// Runs returns the run history, oldest first.
func (s *Store) Runs() ([]Run, error) {
	var runs []Run
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRuns)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			r, err := decodeRun(v)
			if err != nil {
				return fmt.Errorf("run %x: %w", k, err)
			}
			runs = append(runs, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state runs: %w", err)
	}
	return runs, nil
}
