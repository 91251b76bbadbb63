package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout of the state file this release writes and
// understands (see upgrade.go for the versions). Open upgrades a file
// with an older version and refuses one with a newer version.
const SchemaVersion = 2

// The errors of this package always come wrapped in "state <operation>:
// ..." (see Store), so their texts do not say "state" again.
var (
	// ErrLocked is returned by Open when another run (in this process or
	// another) holds the state file.
	ErrLocked = errors.New("file is locked by another run")
	// ErrNewerSchema is returned by Open for a file written by a newer
	// mailferry; this release must not read or change it.
	ErrNewerSchema = errors.New("file has a newer schema version")
	// ErrReadOnly is returned by the write methods of a store opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("store is read-only")
	// ErrClosed is returned by the write methods after Close.
	ErrClosed = errors.New("store is closed")
)

// Bucket names and meta keys.
var (
	bucketMeta    = []byte("meta")
	bucketRefs    = []byte("refs")
	bucketKeys    = []byte("keys")
	bucketPending = []byte("pending")
	bucketFolders = []byte("folders")
	bucketRuns    = []byte("runs")

	metaSchema  = []byte("schema")
	metaCreated = []byte("created")
)

var allBuckets = [][]byte{bucketMeta, bucketRefs, bucketKeys, bucketPending, bucketFolders, bucketRuns}

// minLockWait is the bbolt lock timeout used for LockTimeout 0: bbolt
// reads a zero timeout as "wait forever".
const minLockWait = 10 * time.Millisecond

// Options configure Open. The zero value opens read-write and fails at
// once if the file is locked.
type Options struct {
	// LockTimeout is how long Open waits for another run to release the
	// file's lock; 0 means fail at once.
	LockTimeout time.Duration
	// ReadOnly opens the file for a dry run: no writes, and the file must
	// exist. It takes a shared lock, so it still fails with ErrLocked
	// while a read-write run holds the file.
	ReadOnly bool

	// openFile replaces os.OpenFile in tests (fault injection).
	openFile func(string, int, os.FileMode) (*os.File, error)
}

// A Store is an open state file. Its methods are safe for concurrent use.
//
// Write methods (Begin, Commit, MarkRef, Forget, SetFolder, AddRun) share
// these rules:
//   - They validate and encode their arguments in the caller's goroutine
//     and return such errors at once, writing nothing.
//   - The write is queued for the one writer goroutine, which writes all
//     requests queued together in one bbolt transaction (one fsync), and
//     the method returns nil only when that transaction is durable.
//   - When the transaction fails (disk full, I/O error), every method
//     whose write was in it returns that error and none of their writes
//     is stored; reads and later writes go on working.
//   - When ctx ends before the answer, the method returns ctx's error but
//     a write already queued may still be stored: the outcome is unknown,
//     as after a crash. A ctx already done when the method is called
//     writes nothing.
//   - On a read-only store they return ErrReadOnly, after Close ErrClosed.
//
// All errors are wrapped once, in "state <operation>: ..." ("state
// commit: ...", "state open <path>: ..."), and match the sentinel errors
// of this package with errors.Is: a caller adds no "state" prefix of its
// own.
type Store struct {
	db       *bolt.DB
	path     string
	readOnly bool
	// v1 is set for a version 1 file opened read-only, which Open could
	// not upgrade: reads upgrade each record they return.
	v1 bool

	// mu guards closed against the enqueue in write; reqs is nil for a
	// read-only store.
	mu      sync.RWMutex
	closed  bool
	reqs    chan *writeReq
	stopped chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Open opens the state file at path, creating it (mode 0600, and its
// parent directory with mode 0700) unless opts.ReadOnly is set.
//
// Errors: ErrLocked when another run holds the file for longer than
// opts.LockTimeout; ErrNewerSchema for a file from a newer release; with
// ReadOnly, an error matching fs.ErrNotExist when the file does not
// exist, which a dry run treats as an empty state. All are wrapped.
func Open(path string, opts Options) (*Store, error) {
	s, err := open(path, opts)
	if err != nil {
		return nil, fmt.Errorf("state open %s: %w", path, err)
	}
	return s, nil
}

func open(path string, opts Options) (*Store, error) {
	created, err := prepare(path, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, boltOptions(opts))
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		if created {
			// bbolt could not write the new file whole (a full disk):
			// its meta pages may point at pages never written, which
			// would crash every later Open. It holds nothing yet.
			os.Remove(path)
		}
		return nil, err
	}
	if created {
		// Exact mode whatever the umask.
		err = os.Chmod(path, 0o600)
	}
	var version uint64
	if err == nil {
		version, err = checkSchema(db, opts.ReadOnly)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s := newStore(db, path, opts.ReadOnly)
	s.v1 = version == 1
	return s, nil
}

// prepare checks that a read-only file exists, or creates the parent
// directory of a read-write one; created reports that bbolt will create
// the file.
func prepare(path string, readOnly bool) (created bool, err error) {
	_, err = os.Stat(path)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, fs.ErrNotExist) || readOnly:
		return false, err
	}
	return true, makeDir(filepath.Dir(path))
}

// makeDir creates dir with mode 0700, whatever the umask, if it is
// missing. Missing directories above it get 0700 less the umask.
func makeDir(dir string) error {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

func boltOptions(opts Options) *bolt.Options {
	o := *bolt.DefaultOptions
	o.Timeout = max(opts.LockTimeout, minLockWait)
	o.ReadOnly = opts.ReadOnly
	o.OpenFile = opts.openFile
	// As etcd does: the map free list keeps allocation fast in large
	// files, and not writing the free list at each commit saves a page
	// write per transaction (about 20% more commits/s in
	// BenchmarkCommitParallel) at the price of a scan of the file at Open
	// to rebuild it.
	o.FreelistType = bolt.FreelistMapType
	o.NoFreelistSync = true
	return &o
}

func newStore(db *bolt.DB, path string, readOnly bool) *Store {
	s := &Store{db: db, path: path, readOnly: readOnly}
	if !readOnly {
		s.reqs = make(chan *writeReq, maxGroup)
		s.stopped = make(chan struct{})
		go s.writer()
	}
	return s
}

// checkSchema creates the buckets and the schema version of a new file,
// upgrades a file from an older release and refuses one from a newer
// release. A read-only store only checks. It returns the version the file
// has now.
func checkSchema(db *bolt.DB, readOnly bool) (version uint64, err error) {
	if readOnly {
		err = db.View(func(tx *bolt.Tx) error {
			version, err = schemaVersion(tx)
			return err
		})
		return version, err
	}
	return SchemaVersion, db.Update(initSchema)
}

// initSchema brings the file to SchemaVersion in one transaction: a file
// is never left half upgraded.
func initSchema(tx *bolt.Tx) error {
	v, err := schemaVersion(tx)
	if err != nil {
		return err
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v {
	case SchemaVersion:
		return nil
	case 0:
		e := newEncoder(12)
		e.time(time.Now())
		if err := meta.Put(metaCreated, e.b); err != nil {
			return err
		}
	case 1:
		if err := migrateV1(tx); err != nil {
			return fmt.Errorf("upgrade from schema version 1: %w", err)
		}
	}
	return meta.Put(metaSchema, binary.BigEndian.AppendUint64(nil, SchemaVersion))
}

// schemaVersion returns the file's schema version, 0 for a new file.
func schemaVersion(tx *bolt.Tx) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	b := meta.Get(metaSchema)
	if b == nil {
		return 0, nil
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("schema version: %w", errCorrupt)
	}
	v := binary.BigEndian.Uint64(b)
	if v > SchemaVersion {
		return v, fmt.Errorf("%w: the file has version %d, this mailferry understands up to %d; upgrade mailferry",
			ErrNewerSchema, v, SchemaVersion)
	}
	return v, nil
}

// Close writes the requests already queued, stops the writer and closes
// the file, releasing its lock. Write calls made after Close return
// ErrClosed; reads return an error. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.reqs != nil {
			s.mu.Lock()
			s.closed = true
			s.mu.Unlock()
			close(s.reqs)
			<-s.stopped
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("state close: %w", err)
		}
	})
	return s.closeErr
}

// Path returns the path the store was opened with, also after Close.
func (s *Store) Path() string { return s.path }
