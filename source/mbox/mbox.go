package mbox

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/source"
)

// A Variant names an mbox format (see the package documentation).
type Variant string

// The variants Options.Variant accepts.
const (
	Detect  Variant = ""        // decide per file from the evidence it holds
	MBOXO   Variant = "mboxo"   // "From " quoted as ">From "; Content-Length ignored
	MBOXRD  Variant = "mboxrd"  // ">*From " quoted with one more '>'; Content-Length ignored
	MBOXCL  Variant = "mboxcl"  // mboxo quoting, Content-Length trusted when consistent
	MBOXCL2 Variant = "mboxcl2" // no quoting, Content-Length trusted when consistent
)

// Options configure a Source. Only Path is required.
type Options struct {
	// Path is one mbox file, or a directory tree of them.
	Path string
	// Variant forces a format for every file; Detect (the zero value)
	// decides per file.
	Variant Variant
	// IncludeDeleted lists messages marked \Deleted (X-Status D), with
	// the flag; by default they are left out. A message Thunderbird
	// marked expunged is never listed.
	IncludeDeleted bool
	// Mozilla reads Thunderbird's X-Mozilla-Status and X-Mozilla-Keys
	// fields (see Flags). The thunderbird source sets it.
	Mozilla bool
	// Warn, if not nil, is told about what is left out without loss:
	// entries of no bytes (a From line followed by the next one).
	Warn func(path string, err error)
}

// Source reads one mbox file or a directory tree of them. It never
// writes to them. Open and Close are safe for concurrent use; List must
// not run concurrently with another List.
type Source struct {
	opts   Options
	single bool // Path is a file

	mu     sync.Mutex
	index  map[string]loc // Ref.ID -> where the message is, from List
	open   map[*msgReader]struct{}
	closed bool
}

// A loc is where a listed message is stored.
type loc struct {
	file *fileInfo
	off  int64
	n    int64
	sum  [8]byte
	junk bool  // bytes before the first separator: Open fails
	fail error // the file or directory cannot be read: Open fails
}

var _ source.Source = (*Source)(nil)

var errClosed = errors.New("mbox: source closed")

// New checks opts and returns a Source. A Path that does not exist, or
// is a file that is not an mbox (neither only white space nor holding a
// line that starts a message), is an error.
func New(opts Options) (*Source, error) {
	switch opts.Variant {
	case Detect, MBOXO, MBOXRD, MBOXCL, MBOXCL2:
	default:
		return nil, fmt.Errorf("mbox: unknown variant %q (want mboxo, mboxrd, mboxcl, mboxcl2 or empty)", opts.Variant)
	}
	fi, err := os.Stat(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("mbox: %w", err)
	}
	s := &Source{opts: opts, single: !fi.IsDir(), index: map[string]loc{}, open: map[*msgReader]struct{}{}}
	if s.single {
		if err := checkMbox(opts.Path); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkMbox returns an error unless path is an mbox: it is read up to
// its first separator, or to its end if it has none.
func checkMbox(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	s := newScanner(f, fi.Size(), false, false)
	s.probe = true
	if err := s.run(context.Background()); err != nil {
		return fmt.Errorf("mbox %s: %w", path, err)
	}
	return nil
}

// List calls fn for each message, file by file in lexical order of their
// paths, messages in file order. Messages of zero bytes, \Deleted ones
// (unless Options.IncludeDeleted) and expunged ones are left out. Errors
// reading a file are returned wrapped with its path; an error from fn is
// returned as is.
func (s *Source) List(ctx context.Context, fn func(source.Ref) error) error {
	if s.isClosed() {
		return errClosed
	}
	files, err := s.files()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := s.listFile(ctx, f, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Source) files() ([]*fileInfo, error) {
	if s.single {
		return []*fileInfo{{path: s.opts.Path, rel: filepath.Base(s.opts.Path)}}, nil
	}
	return walk(s.opts.Path)
}

func (s *Source) warn(path string, err error) {
	if s.opts.Warn != nil {
		s.opts.Warn(path, err)
	}
}

// failID ends the ID of the Ref of a file or directory that cannot be
// read.
const failID = "#0#unreadable"

// listFile scans f, indexes its messages and gives them to fn (which
// may be nil: index only). A file or directory that cannot be read is
// given as one failure Ref (see fail).
func (s *Source) listFile(ctx context.Context, f *fileInfo, fn func(source.Ref) error) error {
	if f.err != nil {
		return s.fail(f, f.err, fn)
	}
	if f.known {
		ok, err := knownIsMbox(f.path)
		if err != nil {
			return s.fail(f, err, fn)
		}
		if !ok {
			return nil
		}
	}
	res, err := scanFile(ctx, f.path, s.useCL(), s.opts.Mozilla)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return s.fail(f, err, fn)
	}
	f.mode = res.mode(s.opts.Variant)
	for i := range res.recs {
		r := &res.recs[i]
		if r.n == 0 && !r.junk && fn != nil {
			// A From line followed at once by another: nothing to copy,
			// but say so rather than drop it silently.
			s.warn(f.path, fmt.Errorf("empty message at offset %d skipped", r.off))
		}
		if !s.wanted(r) {
			continue
		}
		ref := s.ref(f, r)
		s.remember(ref.ID, loc{file: f, off: r.off, n: r.n, sum: r.sum, junk: r.junk})
		if fn == nil {
			continue
		}
		if err := fn(ref); err != nil {
			return err
		}
	}
	return nil
}

// fail lists a file or directory that cannot be read as one Ref, ID
// "<relative path>#0#unreadable" (a directory's path ends in "/"), of
// size 0, whose Open fails with an error wrapping source.ErrUnreadable
// that says why: the run reports it and tries it again next time,
// instead of leaving it out unseen.
func (s *Source) fail(f *fileInfo, err error, fn func(source.Ref) error) error {
	f.err = err
	ref := source.Ref{ID: f.rel + failID, Folder: f.folder}
	s.remember(ref.ID, loc{file: f, fail: err})
	if fn == nil {
		return nil
	}
	return fn(ref)
}

// failure returns the error Open gives for a file or directory that
// cannot be read, with what to do about it.
func (s *Source) failure(f *fileInfo) error {
	what, where := "file "+f.path, "folder "+strconv.Quote(f.folder)
	if f.dir {
		what = "directory " + f.path
		where = "the subfolders of " + where
	}
	if f.folder == "" && !f.dir {
		where = "the folder of this source"
	}
	var todo string
	switch {
	case errors.Is(f.err, errNotMbox):
		todo = "if it holds mail, repair its format (each message must start with a line \"From ...\"); if it does not, move it out of " + s.opts.Path
	case errors.Is(f.err, errSymlink):
		todo = "give the file it names as a source of its own, or copy it into " + s.opts.Path
	case errors.Is(f.err, errNotRegular):
		todo = "move it out of " + s.opts.Path
	case errors.Is(f.err, errChanged):
		todo = "close the program writing to it (Thunderbird?) and run again"
	default:
		todo = "make it readable and run again"
	}
	return fmt.Errorf("mbox: %w: cannot read %s, %s: %v; not copied: %s", source.ErrUnreadable, where, what, f.err, todo)
}

// knownIsMbox reports whether a file with a name of skipName starts like
// an mbox.
func knownIsMbox(path string) (bool, error) {
	f, err := openFile(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	return startsMbox(f, fi.Size())
}

func (s *Source) useCL() bool {
	return s.opts.Variant != MBOXO && s.opts.Variant != MBOXRD
}

// openFile opens a file to list; tests replace it to make files fail.
var openFile = os.Open

// scanFile opens path read-only and scans it.
func scanFile(ctx context.Context, path string, useCL, mozilla bool) (*scanResult, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return scan(ctx, f, fi.Size(), useCL, mozilla)
}

// wanted reports whether List gives r.
func (s *Source) wanted(r *record) bool {
	switch {
	case r.junk:
		return true // to be reported
	case r.n == 0, r.hdr.expunged:
		return false
	case r.hdr.deleted:
		return s.opts.IncludeDeleted
	}
	return true
}

// ref builds the Ref of r. Its ID is "<rel>#<offset>#<hash>": the file's
// path relative to the directory (its base name for a single file), the
// message's offset in it, and the first 16 hex digits of the SHA-256 of
// its stored bytes.
func (s *Source) ref(f *fileInfo, r *record) source.Ref {
	ref := source.Ref{
		ID:     f.rel + "#" + strconv.FormatInt(r.off, 10) + "#" + hex.EncodeToString(r.sum[:]),
		Folder: f.folder,
		Size:   r.size(f.mode),
		Flags:  r.hdr.flags,
	}
	if r.junk {
		ref.Flags = nil
		return ref
	}
	if !r.hdr.hasDate {
		ref.Date = r.fromDate
	}
	return ref
}

func (s *Source) remember(id string, l loc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index[id] = l
}

func (s *Source) lookup(id string) (loc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.index[id]
	return l, ok
}

func (s *Source) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Open returns a reader of the message ref names: its stored bytes
// without the separator, unquoted by its file's variant, with CRLF line
// ends; exactly ref.Size bytes. The ref of a damaged start (see the
// package documentation) gives an error wrapping source.ErrUnreadable. A
// ref that List has not given is found by scanning the file its ID names. If the message is gone or changed
// (the file was compacted or rewritten since), Open or the reader's last
// Read returns an error wrapping source.ErrNotFound. The caller closes
// the reader.
func (s *Source) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	l, err := s.locate(ctx, ref.ID)
	if err != nil {
		return nil, err
	}
	if l.fail != nil {
		return nil, s.failure(l.file)
	}
	if l.junk {
		return nil, fmt.Errorf(`mbox %s: %w: its first %d bytes come before any "From " line that starts a message, `+
			`so they are not a message in mbox form (a damaged start?): not copied`, l.file.path, source.ErrUnreadable, l.n)
	}
	f, err := os.Open(l.file.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", source.ErrNotFound, err)
		}
		return nil, fmt.Errorf("mbox open %s: %w", ref.ID, err)
	}
	r := newMsgReader(f, l, s.forget)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		f.Close()
		return nil, errClosed
	}
	s.open[r] = struct{}{}
	return r, nil
}

// locate finds id in the index, scanning its file if List has not.
func (s *Source) locate(ctx context.Context, id string) (loc, error) {
	if l, ok := s.lookup(id); ok {
		return l, nil
	}
	if strings.HasSuffix(id, failID) {
		// A file or directory that could not be read when listed: list
		// again to see whether it still cannot.
		if err := s.List(ctx, nil); err != nil {
			return loc{}, err
		}
		if l, ok := s.lookup(id); ok {
			return l, nil
		}
		return loc{}, fmt.Errorf("mbox open %s: %w", id, source.ErrNotFound)
	}
	f, err := s.fileOf(id)
	if err != nil {
		return loc{}, err
	}
	if err := s.listFile(ctx, f, nil); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %w", source.ErrNotFound, err)
		}
		return loc{}, err
	}
	if l, ok := s.lookup(id); ok {
		return l, nil
	}
	return loc{}, fmt.Errorf("mbox open %s: %w", id, source.ErrNotFound)
}

// fileOf returns the file an ID names.
func (s *Source) fileOf(id string) (*fileInfo, error) {
	rel := id
	for range 2 {
		i := strings.LastIndexByte(rel, '#')
		if i < 0 {
			return nil, fmt.Errorf("mbox open %q: malformed ID", id)
		}
		rel = rel[:i]
	}
	if s.single {
		if rel != filepath.Base(s.opts.Path) {
			return nil, fmt.Errorf("mbox open %s: %w", id, source.ErrNotFound)
		}
		return &fileInfo{path: s.opts.Path, rel: rel}, nil
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) { // not fs.ValidPath: names need not be UTF-8
		return nil, fmt.Errorf("mbox open %q: malformed ID", id)
	}
	path := filepath.Join(s.opts.Path, filepath.FromSlash(rel))
	return &fileInfo{path: path, rel: rel, folder: folderName(rel)}, nil
}

func (s *Source) forget(r *msgReader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, r)
}

// Close closes the files of readers still open; the Source is then
// unusable. The mbox files are left as they were.
func (s *Source) Close() error {
	s.mu.Lock()
	s.closed = true
	readers := make([]*msgReader, 0, len(s.open))
	for r := range s.open {
		readers = append(readers, r)
	}
	s.mu.Unlock()
	var err error
	for _, r := range readers {
		err = errors.Join(err, r.Close())
	}
	return err
}
