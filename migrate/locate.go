package migrate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
)

// Locating: where a message is on the target. The upload stage asks
// whether a folder holds a message already (dedup) and, after a failed
// APPEND, whether it landed; the recover stage whether a killed run's
// APPEND did; the delete stage whether a copy is still there.

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
	ids     map[folderUID]identity.ID // identity of a fetched message
	read    map[string]bool           // folders whose content was read from the target
	// claims names, for a target message that stands for a source message
	// with a munged form, that message's exact identity (claimOf).
	// Different messages can share a munged form; a
	// copy may stand for one of them only. committed holds, per folder,
	// the same for every copy the state records, read once when needed.
	claims    map[folderUID]uint64
	committed map[string]*committedCopies

	// recheck reads every folder from the target, whatever the state
	// says of it (Options.Recheck); made holds the copies this run
	// committed, which the folders as read do not show, each with the
	// key and body hash of the message it holds.
	recheck bool
	made    map[folderUID]madeMsg
}

// folderUID names a target message.
type folderUID struct {
	folder string
	uid    uint32
}

// committedCopies are the claims of the copies the state records in one
// target folder, by UID.
type committedCopies struct {
	ready chan struct{}
	byUID map[uint32]uint64
	err   error
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
	return &indexCache{t: t, state: st, folders: map[string]*folderIndex{}, ids: map[folderUID]identity.ID{},
		read: map[string]bool{}, claims: map[folderUID]uint64{}, committed: map[string]*committedCopies{},
		made: map[folderUID]madeMsg{}}
}

// holds reports whether folder holds the message uid, of dedup key key:
// as the folder was read from the target at this run, or because this
// run committed it there. UID 0 (not reported by the server) is never
// held: the message is looked for by its identity instead. A message of
// that UID with another Message-ID is not this one (the folder was made
// anew and its UIDs start again).
func (c *indexCache) holds(ctx context.Context, folder string, uid uint32, key, bodyHash string) (bool, error) {
	if uid == 0 {
		return false, nil
	}
	c.mu.Lock()
	made, ok := c.made[folderUID{folder, uid}]
	c.mu.Unlock()
	if ok {
		// This run put a message at that UID: it holds the record's
		// message only if it is that message (in a folder made anew, a
		// restored message takes the UID an older record names).
		return made.key == key && (bodyHash == "" || made.bodyHash == bodyHash), nil
	}
	fi, err := c.folder(ctx, folder, false)
	if err != nil {
		return false, err
	}
	e, ok := fi.byUID[uid]
	if !ok {
		return false, nil
	}
	if !strings.HasPrefix(key, "<") {
		// A message without a Message-ID: the one at that UID must have
		// none either (in a folder made anew, UID 1 is another message).
		return identity.ParseMessageID(e.MessageID) == "", nil
	}
	return "<"+identity.ParseMessageID(e.MessageID)+">" == key, nil
}

// A madeMsg is the message this run committed at a UID.
type madeMsg struct{ key, bodyHash string }

// madeCopy records that this run committed the message id to folder as uid.
func (c *indexCache) madeCopy(folder string, uid uint32, id identity.ID) {
	if uid == 0 {
		return
	}
	c.mu.Lock()
	c.made[folderUID{folder, uid}] = madeMsg{id.Key, id.BodyHash}
	c.mu.Unlock()
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
	return c.locateExcept(ctx, folder, id, fresh, nil)
}

// locateExcept is locate ignoring the UIDs in skip: copies that other
// source messages are known to have made. It prefers a copy of the
// message as it is; failing that, it takes a copy of its munged form
// (identity.ID.Munged: what Cyrus stores with munge8bit) that stands for
// no other source message, in this run or as the state records, and
// claims it.
func (c *indexCache) locateExcept(ctx context.Context, folder string, id identity.ID, fresh bool, skip map[uint32]bool) (uint32, bool, error) {
	fi, err := c.folder(ctx, folder, fresh)
	if err != nil {
		return 0, false, err
	}
	uid, ok, err := c.scan(ctx, folder, candidates(fi, id.MessageID, id.Key, id.ServerSize), skip,
		func(_ uint32, got identity.ID) (bool, error) { return same(got, id), nil })
	if err != nil || ok || id.Munged.Key == "" {
		return uid, ok, err
	}
	uid, ok, err = c.scan(ctx, folder, candidates(fi, id.Munged.MessageID, id.Munged.Key, id.ServerSize), skip,
		func(uid uint32, got identity.ID) (bool, error) {
			if !sameMunged(got, id) {
				return false, nil
			}
			return c.claim(folder, uid, claimOf(id.Key, id.BodyHash, ""))
		})
	return uid, ok, err
}

// findOwn looks in k.Folder for the copy that k's APPEND made: a message
// with k's identity id that no committed record claims. With dedup: off
// an identical copy made for another source message is not this one.
func (c *indexCache) findOwn(ctx context.Context, k state.KeyRecord, id identity.ID, fresh bool) (uint32, bool, error) {
	recs, err := c.state.Lookup(k.Key)
	if err != nil {
		return 0, false, err // names the state
	}
	claimed := map[uint32]bool{}
	for _, rec := range recs {
		if !rec.Pending && rec.Folder == k.Folder && rec.UID != 0 {
			claimed[rec.UID] = true
		}
	}
	return c.locateExcept(ctx, k.Folder, id, fresh, claimed)
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
func (c *indexCache) scan(ctx context.Context, folder string, uids []uint32, skip map[uint32]bool, ok func(uint32, identity.ID) (bool, error)) (uint32, bool, error) {
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
		if yes, err := ok(uid, got); err != nil || yes {
			return uid, yes, err
		}
	}
	return 0, false, nil
}

// claimOf names a source message by its exact identity, for claims;
// refTag is dedup: off's (state.KeyRecord.RefTag), "" for a message
// read from a source.
func claimOf(key, bodyHash, refTag string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(bodyHash))
	if refTag != "" {
		h.Write([]byte(" " + refTag))
	}
	return h.Sum64()
}

// claim lets the target message uid of folder stand for the source
// message named by claim, unless it stands for another one already: in
// this run, or as the state records.
func (c *indexCache) claim(folder string, uid uint32, claim uint64) (bool, error) {
	committed, err := c.committedIn(folder)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := folderUID{folder, uid}
	if by, ok := c.claims[k]; ok {
		return by == claim, nil
	}
	if by, ok := committed[uid]; ok && by != claim {
		return false, nil
	}
	c.claims[k] = claim
	return true, nil
}

// keyLister is the part of state.Store that lists every key record.
type keyLister interface {
	Keys(fn func(state.KeyRecord) error) error
}

// committedIn returns the claims of the copies the state records in
// folder, reading the whole dedup index the first time: only a copy of a
// munged form asks, which a run meets after reading a folder that the
// state does not know whole (lost state, recovery, a cut APPEND).
func (c *indexCache) committedIn(folder string) (map[uint32]uint64, error) {
	kl, ok := c.state.(keyLister)
	if !ok {
		return nil, nil
	}
	c.mu.Lock()
	cc, ok := c.committed[folder]
	if !ok {
		cc = &committedCopies{ready: make(chan struct{}), byUID: map[uint32]uint64{}}
		c.committed[folder] = cc
	}
	c.mu.Unlock()
	if ok {
		<-cc.ready
		return cc.byUID, cc.err
	}
	cc.err = kl.Keys(func(k state.KeyRecord) error {
		if !k.Pending && k.Folder == folder && k.UID != 0 {
			cc.byUID[k.UID] = claimOf(k.Key, k.BodyHash, k.RefTag)
		}
		return nil
	})
	if cc.err != nil { // it names the state
		c.mu.Lock()
		delete(c.committed, folder) // a later call tries again
		c.mu.Unlock()
	}
	close(cc.ready)
	return cc.byUID, cc.err
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
	c.claims[folderUID{folder, uid}] = claimOf(id.Key, id.BodyHash, "")
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
	if !fresh && !c.recheck {
		rec, ok, err := c.state.Folder(folder)
		if err != nil {
			return err // names the state
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
	k := folderUID{folder, uid}
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
