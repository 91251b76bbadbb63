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

	mu      sync.Mutex
	folders map[string]*folderIndex
	ids     map[string]identity.ID // folder "\x00" uid -> identity of a fetched message
	read    map[string]bool        // folders whose content was read from the target
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
		read: map[string]bool{}}
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
// source messages are known to have made.
func (c *indexCache) locateExcept(ctx context.Context, folder string, id identity.ID, fresh bool, skip map[uint32]bool) (uint32, bool, error) {
	fi, err := c.folder(ctx, folder, fresh)
	if err != nil {
		return 0, false, err
	}
	candidates := fi.bySize[id.ServerSize]
	if id.MessageID != "" {
		candidates = fi.byKey[id.Key]
	}
	for _, uid := range candidates {
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
		if same(got, id) {
			return uid, true, nil
		}
	}
	return 0, false, nil
}

// same reports whether a server message and a source message are one.
func same(server, src identity.ID) bool {
	if src.MessageID != "" {
		return server.Key == src.Key && server.BodyHash == src.BodyHash
	}
	return server.ContentHash == src.ContentHash
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
	id = identity.Of(body)
	c.mu.Lock()
	c.ids[k] = id
	c.mu.Unlock()
	return id, nil
}
