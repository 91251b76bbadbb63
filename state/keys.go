package state

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Lookup returns every key record with key key, whatever its body hash,
// folder or ref tag, pending or not, ordered by body hash, folder then
// ref tag. It returns an empty slice when there is none.
func (s *Store) Lookup(key string) ([]KeyRecord, error) {
	var recs []KeyRecord
	prefix := lookupPrefix(key)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for ck, v := c.Seek(prefix); ck != nil && bytes.HasPrefix(ck, prefix); ck, v = c.Next() {
			k, err := s.decodeKey(ck, v)
			if err != nil {
				return fmt.Errorf("%q: %w", ck, err)
			}
			recs = append(recs, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state lookup: %w", err)
	}
	if s.v1 {
		slices.SortStableFunc(recs, func(a, b KeyRecord) int {
			return cmp.Or(cmp.Compare(a.BodyHash, b.BodyHash), cmp.Compare(a.Folder, b.Folder), cmp.Compare(a.RefTag, b.RefTag))
		})
	}
	return recs, nil
}

// decodeKey is decodeKey for this store's file: it upgrades a record of a
// version 1 file opened read-only.
func (s *Store) decodeKey(ck, v []byte) (KeyRecord, error) {
	k, err := decodeKey(ck, v)
	if s.v1 {
		k = upgradeKeyV1(k)
	}
	return k, err
}

// keysChunk is how many key records Keys reads per read transaction.
const keysChunk = 1024

// Keys calls fn for every key record, pending or not, in the order of
// their (Key, BodyHash, Folder, RefTag) (of their Key only in a version 1
// file opened read-only), and stops at the first error from fn,
// which it returns as is. It writes nothing, so it works on a read-only
// store: it is how a check compares the whole dedup index with a target.
//
// fn runs outside any transaction, so it may call other Store methods;
// records are read in chunks, so records written during the iteration may
// or may not be seen.
func (s *Store) Keys(fn func(k KeyRecord) error) error {
	var after []byte
	for {
		cks, recs, err := s.keysChunk(after)
		if err != nil {
			return fmt.Errorf("state keys: %w", err)
		}
		for _, k := range recs {
			if err := fn(k); err != nil {
				return err
			}
		}
		if len(recs) < keysChunk {
			return nil
		}
		after = cks[len(cks)-1]
	}
}

// keysChunk reads up to keysChunk key records whose bolt keys sort after
// after (from the first when after is nil).
func (s *Store) keysChunk(after []byte) (cks [][]byte, recs []KeyRecord, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		ck, v := c.First()
		if after != nil {
			if ck, v = c.Seek(after); bytes.Equal(ck, after) {
				ck, v = c.Next()
			}
		}
		for ; ck != nil && len(recs) < keysChunk; ck, v = c.Next() {
			k, err := s.decodeKey(ck, v)
			if err != nil {
				return fmt.Errorf("%q: %w", ck, err)
			}
			cks, recs = append(cks, bytes.Clone(ck)), append(recs, k)
		}
		return nil
	})
	return cks, recs, err
}

// Begin records k as pending (Pending is set to true; a zero At becomes
// the current time), replacing any record with the same (Key, BodyHash,
// Folder, RefTag), committed or not: callers check Lookup first. It returns when
// the record is durable, or when ctx ends (see Store: the record may
// then still be written).
func (s *Store) Begin(ctx context.Context, k KeyRecord) error {
	return s.BeginAll(ctx, []KeyRecord{k})
}

// BeginAll is Begin for many records, in one transaction: all of them are
// durable when it returns nil.
func (s *Store) BeginAll(ctx context.Context, ks []KeyRecord) error {
	now := time.Now()
	type put struct{ ck, v, pv []byte }
	puts := make([]put, 0, len(ks))
	for _, k := range ks {
		k.Pending = true
		if k.At.IsZero() {
			k.At = now
		}
		ck, err := compositeKey(k)
		if err != nil {
			return fmt.Errorf("state begin: %w", err)
		}
		puts = append(puts, put{ck, encodeKey(k), encodePending(k)})
	}
	return s.write(ctx, "begin", func(tx *bolt.Tx) error {
		keys, pending := tx.Bucket(bucketKeys), tx.Bucket(bucketPending)
		for _, p := range puts {
			if err := keys.Put(p.ck, p.v); err != nil {
				return err
			}
			if err := pending.Put(p.ck, p.pv); err != nil {
				return err
			}
		}
		return nil
	})
}

// Commit records, in one transaction, that the message k names is in the
// target (k becomes committed: Pending false, UID as given) and that
// source message refID of source is done with r. Both records exist after
// a crash or neither does.
//
// Defaults: k.Source and k.RefID are set to source and refID; a zero
// k.At and r.Done become the current time; a zero r.State becomes
// RefCopied; an empty r.Key, r.BodyHash, r.RefTag or r.Folder and a zero
// r.UID are taken from k. Commit returns when both records are durable, or when ctx
// ends (the records may then still be written).
func (s *Store) Commit(ctx context.Context, k KeyRecord, source, refID string, r RefRecord) error {
	apply, err := commitApply(k, source, refID, r)
	if err != nil {
		return fmt.Errorf("state commit: %w", err)
	}
	return s.write(ctx, "commit", apply)
}

// A CommitOp is the arguments of one Commit, for CommitAll.
type CommitOp struct {
	Key    KeyRecord
	Source string
	RefID  string
	Ref    RefRecord
}

// CommitAll is Commit for many messages, in one transaction: all of them
// are durable when it returns nil, or none is after a crash.
func (s *Store) CommitAll(ctx context.Context, ops []CommitOp) error {
	applies := make([]func(*bolt.Tx) error, 0, len(ops))
	for _, op := range ops {
		apply, err := commitApply(op.Key, op.Source, op.RefID, op.Ref)
		if err != nil {
			return fmt.Errorf("state commit: %w", err)
		}
		applies = append(applies, apply)
	}
	return s.write(ctx, "commit", func(tx *bolt.Tx) error {
		for _, apply := range applies {
			if err := apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// commitApply validates and encodes a Commit and returns its writes.
func commitApply(k KeyRecord, source, refID string, r RefRecord) (func(*bolt.Tx) error, error) {
	now := time.Now()
	k.Pending, k.Source, k.RefID = false, source, refID
	if k.At.IsZero() {
		k.At = now
	}
	r = refDefaults(r, k, now)
	ck, err := compositeKey(k)
	if err != nil {
		return nil, err
	}
	putRef, err := refApply(source, refID, r)
	if err != nil {
		return nil, err
	}
	kv := encodeKey(k)
	return func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketKeys).Put(ck, kv); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPending).Delete(ck); err != nil {
			return err
		}
		return putRef(tx)
	}, nil
}

func refDefaults(r RefRecord, k KeyRecord, now time.Time) RefRecord {
	if r.State == 0 {
		r.State = RefCopied
	}
	if r.Key == "" {
		r.Key = k.Key
	}
	if r.BodyHash == "" {
		r.BodyHash = k.BodyHash
	}
	if r.RefTag == "" {
		r.RefTag = k.RefTag
	}
	if r.Folder == "" {
		r.Folder = k.Folder
	}
	if r.UID == 0 {
		r.UID = k.UID
	}
	if r.Done.IsZero() {
		r.Done = now
	}
	return r
}

// Pending returns every pending key record, for crash recovery: each may
// or may not have reached the target.
func (s *Store) Pending() ([]KeyRecord, error) {
	var recs []KeyRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		p, keys := tx.Bucket(bucketPending), tx.Bucket(bucketKeys)
		if p == nil || keys == nil {
			return nil
		}
		return p.ForEach(func(ck, pv []byte) error {
			k, err := s.decodeKey(ck, keys.Get(ck))
			if err == nil {
				err = decodePending(&k, pv)
			}
			if err != nil {
				return fmt.Errorf("%q: %w", ck, err)
			}
			recs = append(recs, k)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state pending: %w", err)
	}
	return recs, nil
}

// Forget removes the pending record with k's (Key, BodyHash, Folder,
// RefTag), when recovery found the message absent from the target. Only
// those fields of k are used. A committed record is kept and a
// missing one ignored: Forget never removes proof of a copy. It returns
// when the removal is durable, or when ctx ends (it may then still
// happen).
func (s *Store) Forget(ctx context.Context, k KeyRecord) error {
	ck, err := compositeKey(k)
	if err != nil {
		return fmt.Errorf("state forget: %w", err)
	}
	return s.write(ctx, "forget", func(tx *bolt.Tx) error {
		p := tx.Bucket(bucketPending)
		if p.Get(ck) == nil {
			return nil
		}
		if err := p.Delete(ck); err != nil {
			return err
		}
		return tx.Bucket(bucketKeys).Delete(ck)
	})
}

// errEmptyName reports an empty bolt key.
var errEmptyName = errors.New("empty name")

// checkName validates a string used as a bolt key or bucket name.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s: %w", what, errEmptyName)
	}
	if len(s) > bolt.MaxKeySize {
		return fmt.Errorf("%s is %d bytes, over %d", what, len(s), bolt.MaxKeySize)
	}
	return nil
}
