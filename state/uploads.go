package state

import (
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The uploads bucket counts the message bytes sent to the target, one
// key per minute (its Unix time, big-endian), so that runs share a
// provider's daily upload quota. Minutes older than uploadsKept are
// dropped as new ones are added.
var bucketUploads = []byte("uploads")

const uploadsKept = 48 * time.Hour

func uploadKey(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.Unix()/60*60))
}

// AddUpload counts n bytes sent at t. It returns when the count is
// durable, or when ctx ends.
func (s *Store) AddUpload(ctx context.Context, t time.Time, n int64) error {
	return s.write(ctx, "add upload", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketUploads)
		if err != nil {
			return err
		}
		k := uploadKey(t)
		var sum uint64
		if v := b.Get(k); len(v) == 8 {
			sum = binary.BigEndian.Uint64(v)
		}
		if err := b.Put(k, binary.BigEndian.AppendUint64(nil, sum+uint64(n))); err != nil {
			return err
		}
		old := uploadKey(t.Add(-uploadsKept))
		c := b.Cursor()
		for k, _ := c.First(); k != nil && string(k) < string(old); k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Uploads returns the bytes counted in the minutes from since's on, and
// the minute of the oldest of them (zero when none).
func (s *Store) Uploads(since time.Time) (n int64, oldest time.Time, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUploads)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(uploadKey(since)); k != nil; k, v = c.Next() {
			if len(k) != 8 || len(v) != 8 {
				continue
			}
			if oldest.IsZero() {
				oldest = time.Unix(int64(binary.BigEndian.Uint64(k)), 0)
			}
			n += int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	return n, oldest, nil
}
