package migrate

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/target"
)

// indexCache answers "is this message already in that target folder?". It
// reads a folder's Message-IDs and sizes once per run (one round trip),
// and fetches a server message only to compare bodies when an ID or, for
// messages keyed by content, a size matches.
type indexCache struct {
	t     target.Target
	state Store

	// full makes fetched messages hashed whole (identity.NewFull), for
	// verify's byte-for-byte comparison.
	full bool

	mu      sync.Mutex
	folders map[string]*folderIndex
	ids     map[string]identity.ID // folder "\x00" uid -> identity of a fetched message
	read    map[string]bool        // folders whose content was read from the target
	// claims names, for a target message that stands for a source message
	// with a munged form, that message's exact identity (Key "\x00"
	// BodyHash): by folder "\x00" uid. Different messages can share a
	// munged form; a copy may stand for one of them only.
	claims map[string]string
}

// folderIndex is the content of one folder when it was read.
type folderIndex struct {
	ready  chan struct{} // closed when loaded
	err    error
	byKey  map[string][]uint32 // "<message-id>" -> UIDs
	bySize map[int64][]uint32  // messages without a usable ID, by size
	byUID  map[uint32]target.Entry
}

func newIndexCache(t target.Target, st Store) *indexCache {
	return &indexCache{t: t, state: st, folders: map[string]*folderIndex{}, ids: map[string]identity.ID{},
		read: map[string]bool{}, claims: map[string]string{}}
}

// compared returns the folders whose content this run read from the
// target: only those can be marked as compared in the state.
func (c *indexCache) compared() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var fs []string
	for f := range c.read {
		fs = append(fs, f)
	}
	return fs
}

// locate returns the UID of a message in folder with the identity id. With
// fresh it reads the folder again, to see what this run appended; without,
// a folder that an earlier run has fully compared (state) is not read.
func (c *indexCache) locate(ctx context.Context, folder string, id identity.ID, fresh bool) (uint32, bool, error) {
	m, err := c.locateExcept(ctx, folder, id, fresh, nil)
	return m.uid, m.found, err
}

// A match is what locateExcept found.
type match struct {
	uid   uint32
	found bool
	// munged: the copy is the message's munged form (its 8-bit header
	// bytes stored as 'X'), not the message as it is.
	munged bool
}

// locateExcept is locate ignoring the UIDs in skip: copies that other
// source messages are known to have made. It prefers a copy of the
// message as it is; failing that, it takes a copy of its munged form
// (identity.ID.Munged: what Cyrus stores with munge8bit) that no other
// source message of this run has claimed, and claims it.
func (c *indexCache) locateExcept(ctx context.Context, folder string, id identity.ID, fresh bool, skip map[uint32]bool) (match, error) {
	fi, err := c.folder(ctx, folder, fresh)
	if err != nil {
		return match{}, err
	}
	uid, ok, err := c.scan(ctx, folder, candidates(fi, id.MessageID, id.Key, id.ServerSize), skip,
		func(_ uint32, got identity.ID) bool { return same(got, id) })
	if err != nil || ok || id.Munged.Key == "" {
		return match{uid: uid, found: ok}, err
	}
	claim := id.Key + "\x00" + id.BodyHash
	uid, ok, err = c.scan(ctx, folder, candidates(fi, id.Munged.MessageID, id.Munged.Key, id.ServerSize), skip,
		func(uid uint32, got identity.ID) bool {
			return sameMunged(got, id) && c.claim(folder, uid, claim)
		})
	return match{uid: uid, found: ok, munged: ok}, err
}

// candidates returns the UIDs of folder that may be a message with that
// Message-ID and key, or without one, of that size.
func candidates(fi *folderIndex, messageID, key string, size int64) []uint32 {
	if messageID != "" {
		return fi.byKey[key]
	}
	return fi.bySize[size]
}

// scan returns the first UID of uids, not in skip, whose message is
// accepted by ok.
func (c *indexCache) scan(ctx context.Context, folder string, uids []uint32, skip map[uint32]bool, ok func(uint32, identity.ID) bool) (uint32, bool, error) {
	for _, uid := range uids {
		if skip[uid] {
			continue
		}
		got, err := c.identity(ctx, folder, uid)
		if errors.Is(err, target.ErrNotFound) {
			continue // expunged since the index was read: not this one
		}
		if err != nil {
			return 0, false, err
		}
		if ok(uid, got) {
			return uid, true, nil
		}
	}
	return 0, false, nil
}

// claim lets the target message uid of folder stand for the source
// message named by claim, unless it stands for another one already.
func (c *indexCache) claim(folder string, uid uint32, claim string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := fmt.Sprintf("%s\x00%d", folder, uid)
	if by, ok := c.claims[k]; ok && by != claim {
		return false
	}
	c.claims[k] = claim
	return true
}

// unclaim undoes a claim of the target message uid of folder.
func (c *indexCache) unclaim(folder string, uid uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.claims, fmt.Sprintf("%s\x00%d", folder, uid))
}

// claimCopy records that the target message uid of folder stands for the
// source message id, when id has a munged form that other messages may
// share.
func (c *indexCache) claimCopy(folder string, uid uint32, id identity.ID) {
	if id.Munged.Key == "" || uid == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.claims[fmt.Sprintf("%s\x00%d", folder, uid)] = id.Key + "\x00" + id.BodyHash
}

// same reports whether a server message and a source message are one.
func same(server, src identity.ID) bool {
	if src.MessageID != "" {
		return server.Key == src.Key && server.BodyHash == src.BodyHash
	}
	return server.ContentHash == src.ContentHash
}

// sameMunged reports whether a server message is the munged form of a
// source message: what a server that replaces 8-bit header bytes with
// 'X' (Cyrus munge8bit) stored for it. Such a copy has no 8-bit header
// byte left.
func sameMunged(server, src identity.ID) bool {
	if src.Munged.Key == "" || server.Munged.Key != "" {
		return false
	}
	if src.Munged.MessageID != "" {
		return server.Key == src.Munged.Key && server.BodyHash == src.Munged.BodyHash
	}
	return server.ContentHash == src.Munged.ContentHash
}

func (c *indexCache) folder(ctx context.Context, folder string, fresh bool) (*folderIndex, error) {
	c.mu.Lock()
	fi, ok := c.folders[folder]
	if ok && !fresh {
		c.mu.Unlock()
		select {
		case <-fi.ready:
			return fi, fi.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fi = &folderIndex{ready: make(chan struct{})}
	c.folders[folder] = fi
	c.mu.Unlock()
	fi.err = c.load(ctx, folder, fi, fresh)
	if fi.err != nil {
		c.mu.Lock()
		if c.folders[folder] == fi {
			delete(c.folders, folder) // let a later call try again
		}
		c.mu.Unlock()
	}
	close(fi.ready)
	return fi, fi.err
}

func (c *indexCache) load(ctx context.Context, folder string, fi *folderIndex, fresh bool) error {
	fi.byKey, fi.bySize, fi.byUID = map[string][]uint32{}, map[int64][]uint32{}, map[uint32]target.Entry{}
	if !fresh {
		rec, ok, err := c.state.Folder(folder)
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		if ok && rec.Indexed {
			return nil
		}
	}
	entries, err := c.t.Index(ctx, folder)
	if err != nil {
		return err // names the folder
	}
	c.mu.Lock()
	c.read[folder] = true
	c.mu.Unlock()
	for _, e := range entries {
		fi.byUID[e.UID] = e
		if id := identity.ParseMessageID(e.MessageID); id != "" {
			key := "<" + id + ">"
			fi.byKey[key] = append(fi.byKey[key], e.UID)
		} else {
			fi.bySize[e.Size] = append(fi.bySize[e.Size], e.UID)
		}
	}
	return nil
}

// identity fetches a server message once and returns its identity.
func (c *indexCache) identity(ctx context.Context, folder string, uid uint32) (identity.ID, error) {
	k := fmt.Sprintf("%s\x00%d", folder, uid)
	c.mu.Lock()
	id, ok := c.ids[k]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	body, err := c.t.Fetch(ctx, folder, uid)
	if err != nil {
		return identity.ID{}, fmt.Errorf("fetch %q UID %d: %w", folder, uid, err)
	}
	if c.full {
		id = identity.OfFull(body)
	} else {
		id = identity.Of(body)
	}
	c.mu.Lock()
	c.ids[k] = id
	c.mu.Unlock()
	return id, nil
}
