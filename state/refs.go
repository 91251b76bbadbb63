package state

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// refsChunk is how many refs Refs reads per read transaction.
const refsChunk = 1024

// Refs calls fn for every ref record of source, in ID byte order, and
// stops at the first error from fn, which it returns as is. A source
// without records yields no call.
//
// fn runs outside any transaction, so it may call other Store methods;
// records are read in chunks, so refs written during the iteration may or
// may not be seen.
func (s *Store) Refs(source string, fn func(id string, r RefRecord) error) error {
	var after []byte
	for {
		ids, recs, err := s.refsChunk(source, after)
		if err != nil {
			return fmt.Errorf("state refs %q: %w", source, err)
		}
		for i, id := range ids {
			if err := fn(id, recs[i]); err != nil {
				return err
			}
		}
		if len(ids) < refsChunk {
			return nil
		}
		after = []byte(ids[len(ids)-1])
	}
}

// refsChunk reads up to refsChunk records of source with IDs after after
// (from the first when after is nil).
func (s *Store) refsChunk(source string, after []byte) (ids []string, recs []RefRecord, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := refBucket(tx, source)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		id, v := c.First()
		if after != nil {
			if id, v = c.Seek(after); bytes.Equal(id, after) {
				id, v = c.Next()
			}
		}
		for ; id != nil && len(ids) < refsChunk; id, v = c.Next() {
			r, err := s.decodeRef(v)
			if err != nil {
				return fmt.Errorf("%q: %w", id, err)
			}
			ids, recs = append(ids, string(id)), append(recs, r)
		}
		return nil
	})
	return ids, recs, err
}

// Ref returns the record of source message id of source; ok is false when
// there is none (the message is not done).
func (s *Store) Ref(source, id string) (r RefRecord, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := refBucket(tx, source)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		r, err = s.decodeRef(v)
		return err
	})
	if err != nil {
		return RefRecord{}, false, fmt.Errorf("state ref %q %q: %w", source, id, err)
	}
	return r, ok, nil
}

// MarkRef records that source message refID of source is done without a
// copy: r.State is RefPresent or RefDuplicate (RefCopied is accepted too,
// for a copy whose key record was committed otherwise). A zero r.Done
// becomes the current time. It returns when the record is durable, or
// when ctx ends (the record may then still be written).
func (s *Store) MarkRef(ctx context.Context, source, refID string, r RefRecord) error {
	if r.Done.IsZero() {
		r.Done = time.Now()
	}
	apply, err := refApply(source, refID, r)
	if err != nil {
		return fmt.Errorf("state mark ref: %w", err)
	}
	return s.write(ctx, "mark ref", apply)
}

// refApply validates and encodes a ref record and returns its write.
func refApply(source, refID string, r RefRecord) (func(*bolt.Tx) error, error) {
	if err := checkName("source", source); err != nil {
		return nil, err
	}
	if err := checkName("ref id", refID); err != nil {
		return nil, err
	}
	if r.State < RefCopied || r.State > RefDuplicate {
		return nil, fmt.Errorf("invalid ref state %v", r.State)
	}
	name, id, v := []byte(source), []byte(refID), encodeRef(r)
	return func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketRefs).CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		return b.Put(id, v)
	}, nil
}

// decodeRef is decodeRef for this store's file: it upgrades a record of a
// version 1 file opened read-only.
func (s *Store) decodeRef(v []byte) (RefRecord, error) {
	r, err := decodeRef(v)
	if s.v1 {
		r = upgradeRefV1(r)
	}
	return r, err
}

// refBucket returns the nested bucket of source, or nil.
func refBucket(tx *bolt.Tx, source string) *bolt.Bucket {
	refs := tx.Bucket(bucketRefs)
	if refs == nil || source == "" {
		return nil
	}
	return refs.Bucket([]byte(source))
}
