package state

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Folder returns what the store knows about target folder name; ok is
// false when it knows nothing (the folder has not been indexed).
func (s *Store) Folder(name string) (f FolderRecord, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFolders)
		if b == nil || name == "" {
			return nil
		}
		v := b.Get([]byte(name))
		if v == nil {
			return nil
		}
		ok = true
		f, err = decodeFolder(v)
		return err
	})
	if err != nil {
		return FolderRecord{}, false, fmt.Errorf("state folder %q: %w", name, err)
	}
	return f, ok, nil
}

// SetFolder stores f for target folder name (not empty), replacing what
// was there. It returns when the record is durable, or when ctx ends (the
// record may then still be written).
func (s *Store) SetFolder(ctx context.Context, name string, f FolderRecord) error {
	if err := checkName("folder", name); err != nil {
		return fmt.Errorf("state set folder: %w", err)
	}
	k, v := []byte(name), encodeFolder(f)
	return s.write(ctx, "set folder", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFolders).Put(k, v)
	})
}
