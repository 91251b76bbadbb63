package state

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Schema versions:
//
//	1  the first.
//	2  a key record's ref tag (KeyRecord.RefTag, RefRecord.RefTag) is a
//	   field of its own, the fourth part of the composite key; version 1
//	   appended it to BodyHash after a space ("<body hash> <tag>").
//
// Open upgrades a read-write file in the transaction that checks its
// version, so a file is either wholly of the old version or wholly of the
// new one, whenever the process dies. A read-only store cannot write: it
// reads an old file as the upgrade would have rewritten it.

// splitV1Tag splits a version 1 body hash into the body hash and the ref
// tag that dedup: off appended to it after a space. A body hash without
// a tag after its first space is returned whole.
func splitV1Tag(bodyHash string) (body, tag string) {
	if body, tag, _ = strings.Cut(bodyHash, " "); tag == "" {
		return bodyHash, ""
	}
	return body, tag
}

func hasV1Tag(bodyHash string) bool {
	_, tag := splitV1Tag(bodyHash)
	return tag != ""
}

// upgradeKeyV1 moves the ref tag of a key record read from a version 1
// file to its own field.
func upgradeKeyV1(k KeyRecord) KeyRecord {
	if k.RefTag == "" {
		k.BodyHash, k.RefTag = splitV1Tag(k.BodyHash)
	}
	return k
}

// upgradeRefV1 does the same for a ref record.
func upgradeRefV1(r RefRecord) RefRecord {
	if r.RefTag == "" {
		r.BodyHash, r.RefTag = splitV1Tag(r.BodyHash)
	}
	return r
}

// migrateV1 rewrites, in tx, the records of a version 1 file that carry
// a ref tag in their body hash: the key records (committed and pending)
// under their version 2 keys and the ref records with the tag in its own
// field. Other records are the same bytes in both versions. The caller
// then sets the version to 2, in the same transaction.
func migrateV1(tx *bolt.Tx) error {
	if err := migrateKeysV1(tx); err != nil {
		return fmt.Errorf("key records: %w", err)
	}
	if err := migrateRefsV1(tx); err != nil {
		return fmt.Errorf("ref records: %w", err)
	}
	return nil
}

// migrateKeysV1 moves every key record whose body hash has a tag to its
// version 2 key, in the keys and the pending bucket. A version 1 key with
// a tag is "Key 0x00 BodyHash SP RefTag 0x00 Folder"; its version 2 key
// differs from every version 1 key, which has no fourth part.
func migrateKeysV1(tx *bolt.Tx) error {
	keys, pending := tx.Bucket(bucketKeys), tx.Bucket(bucketPending)
	old := map[string]bool{} // bbolt forbids writes while a cursor walks
	for _, b := range []*bolt.Bucket{keys, pending} {
		err := b.ForEach(func(ck, _ []byte) error {
			if parts := bytes.SplitN(ck, []byte{keySep}, 3); len(parts) == 3 && hasV1Tag(string(parts[1])) {
				old[string(ck)] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, ck := range slices.Sorted(maps.Keys(old)) {
		var k KeyRecord
		if err := splitCompositeKey(&k, []byte(ck)); err != nil {
			return fmt.Errorf("%q: %w", ck, err)
		}
		nk, err := compositeKey(upgradeKeyV1(k))
		if err != nil {
			return fmt.Errorf("%q: %w", ck, err)
		}
		for _, b := range []*bolt.Bucket{keys, pending} {
			v := b.Get([]byte(ck))
			if v == nil {
				continue
			}
			v = bytes.Clone(v) // valid only until the next write
			if err := b.Delete([]byte(ck)); err != nil {
				return err
			}
			if err := b.Put(nk, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// migrateRefsV1 moves the tag of every ref record whose body hash has one
// to its own field. A value that does not decode is left as it is: it was
// as unreadable before.
func migrateRefsV1(tx *bolt.Tx) error {
	refs := tx.Bucket(bucketRefs)
	var sources [][]byte
	err := refs.ForEach(func(name, v []byte) error {
		if v == nil { // a nested bucket: one source
			sources = append(sources, bytes.Clone(name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range sources {
		b := refs.Bucket(name)
		type put struct{ id, v []byte }
		var puts []put
		err := b.ForEach(func(id, v []byte) error {
			r, err := decodeRef(v)
			if err != nil || !hasV1Tag(r.BodyHash) {
				return nil
			}
			puts = append(puts, put{bytes.Clone(id), encodeRef(upgradeRefV1(r))})
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range puts {
			if err := b.Put(p.id, p.v); err != nil {
				return fmt.Errorf("source %q: %w", name, err)
			}
		}
	}
	return nil
}
