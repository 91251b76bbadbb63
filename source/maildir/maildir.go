package maildir

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/internal/crlf"
)

// Options configure a Source.
type Options struct {
	// Path is the top-level Maildir (it has cur/ or new/).
	Path string
	// IncludeDeleted lists messages flagged T (\Deleted) too; by default
	// they are skipped.
	IncludeDeleted bool
	// Warn is told about what is kept in a degraded form without losing
	// mail: a folder name that does not decode, a keyword letter without
	// a dovecot-keywords entry (once per folder and letter), keywords that
	// cannot be read, a second file of one message. What cannot be read
	// is listed as a failure Ref instead (see the package documentation).
	// nil means discard.
	Warn func(path string, err error)
}

// Source reads one Maildir tree. List must not run concurrently with
// itself; Open is safe to call concurrently, also with List.
type Source struct {
	opts Options

	mu     sync.Mutex
	dirs   map[string]string // folder name -> directory, from the last discovery
	files  map[string]string // Ref.ID -> file path, from the last List
	failed map[string]error  // failure Ref ID -> why it cannot be read
}

var _ source.Source = (*Source)(nil)

// New checks that opts.Path is a Maildir and returns a Source for it. It
// reads nothing else: folders are found by each List.
func New(opts Options) (*Source, error) {
	if opts.Path == "" {
		return nil, errors.New("maildir: no path")
	}
	if !isMaildir(opts.Path) {
		return nil, fmt.Errorf("maildir: %s: not a Maildir (no cur/ or new/)", opts.Path)
	}
	if opts.Warn == nil {
		opts.Warn = func(string, error) {}
	}
	return &Source{opts: opts, files: map[string]string{}, failed: map[string]error{}}, nil
}

// List calls fn for every message, folders sorted by name and messages
// by unique name within a folder. A message present in both cur/ and
// new/ (caught while another client moves it) is listed once, from cur/.
// What cannot be read is listed as a failure Ref. An error from fn is
// returned as is.
func (s *Source) List(ctx context.Context, fn func(source.Ref) error) error {
	folders, err := s.discover(ctx)
	if err != nil {
		return err
	}
	for _, f := range folders {
		if f.err != nil {
			err = s.fail(f.name+"/", f.name, f.err, fn)
		} else {
			err = s.listFolder(ctx, f, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fail lists a failure Ref: its Open returns err. Its ID is id: a folder's
// name and "/", or a folder's name, "/" and a file's unique name.
func (s *Source) fail(id, folder string, err error, fn func(source.Ref) error) error {
	s.mu.Lock()
	s.failed[id] = err
	s.mu.Unlock()
	return fn(source.Ref{ID: id, Folder: folder})
}

// discover finds the folders and remembers where they are for Open.
func (s *Source) discover(ctx context.Context) ([]folder, error) {
	folders, err := discover(ctx, s.opts.Path, s.opts.Warn)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	dirs := make(map[string]string, len(folders))
	for _, f := range folders {
		if f.err == nil {
			dirs[f.name] = f.dir
		}
	}
	s.mu.Lock()
	s.dirs = dirs
	s.mu.Unlock()
	return folders, nil
}

// A file is one message file found in a folder.
type file struct {
	unique string
	sub    string // "cur" or "new"
	name   string // the file name, info included
	info   fs.FileInfo
	err    error // why it cannot be read: listed as a failure Ref
}

func (f file) path(dir string) string { return filepath.Join(dir, f.sub, f.name) }

func (s *Source) listFolder(ctx context.Context, f folder, fn func(source.Ref) error) error {
	files, err := s.readFolder(ctx, f.dir)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return s.fail(f.name+"/", f.name, source.Unreadable("cannot read folder "+f.show(), err), fn)
	}
	kw, err := readKeywords(f.dir)
	if err != nil {
		s.opts.Warn(f.dir, fmt.Errorf("keywords ignored: %w", err))
	}
	refs := make([]source.Ref, 0, len(files))
	warned := map[byte]bool{}
	s.mu.Lock()
	for _, m := range files {
		if m.err != nil {
			id := f.name + "/" + m.unique
			s.failed[id] = m.err
			refs = append(refs, source.Ref{ID: id, Folder: f.name})
			continue
		}
		ref, ok := s.ref(f, m, kw, warned)
		if ok {
			s.files[ref.ID] = m.path(f.dir)
			refs = append(refs, ref)
		}
	}
	s.mu.Unlock()
	for _, ref := range refs {
		if err := fn(ref); err != nil {
			return err
		}
	}
	return nil
}

// ref makes the Ref of one file; ok is false for a skipped \Deleted one.
func (s *Source) ref(f folder, m file, kw map[byte]string, warned map[byte]bool) (ref source.Ref, ok bool) {
	ref = source.Ref{ID: f.name + "/" + m.unique, Folder: f.name, Date: m.info.ModTime()}
	ref.Size, ref.SizeEstimate = sizeOf(m.unique, m.info.Size())
	if m.sub != "cur" {
		return ref, true
	}
	_, letters := splitName(m.name)
	flags, deleted := parseFlags(letters, kw, func(c byte) {
		if !warned[c] {
			warned[c] = true
			s.opts.Warn(m.path(f.dir), fmt.Errorf("keyword letter %q ignored: not in %s", c, filepath.Join(f.dir, "dovecot-keywords")))
		}
	})
	ref.Flags = flags
	return ref, !deleted || s.opts.IncludeDeleted
}

// readFolder returns the message files of cur/ and new/ sorted by unique
// name, one per unique name (cur/ wins). Dot files, directories and
// files that vanish while being read are left out.
func (s *Source) readFolder(ctx context.Context, dir string) ([]file, error) {
	var files []file
	for _, sub := range []string{"cur", "new"} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got, err := readSub(dir, sub)
		if err != nil {
			return nil, fmt.Errorf("maildir: %w", err)
		}
		files = append(files, got...)
	}
	slices.SortStableFunc(files, func(a, b file) int {
		return cmp.Or(strings.Compare(a.unique, b.unique), strings.Compare(a.sub, b.sub))
	})
	out := files[:0]
	for _, f := range files {
		n := len(out)
		if n == 0 || out[n-1].unique != f.unique {
			out = append(out, f)
			continue
		}
		if prev := out[n-1]; prev.err == nil && f.err == nil && prev.info.Size() != f.info.Size() {
			// Two different messages under one name: the one in new/
			// would be lost.
			f.unique += "#" + f.sub
			f.err = source.Unreadable(fmt.Sprintf("cannot read %s: another file, %s, has the same unique name "+
				"but other bytes; give the file a unique name of its own", f.path(dir), prev.path(dir)), nil)
			out = append(out, f)
			continue
		}
		s.opts.Warn(f.path(dir), fmt.Errorf("read once: the same message as %s (another client is moving it)", out[n-1].path(dir)))
	}
	return out, nil
}

// readSub reads one of cur/ and new/; a missing one is empty. A file that
// cannot be read (a link that leads nowhere, a FIFO) is returned with its
// err set; one that vanishes while being read is left out.
func readSub(dir, sub string) ([]file, error) {
	ents, err := os.ReadDir(filepath.Join(dir, sub))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []file
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		p := filepath.Join(dir, sub, e.Name())
		unique, _ := splitName(e.Name())
		f := file{unique: unique, sub: sub, name: e.Name()}
		info, err := os.Stat(p) // follows a symlink
		if errors.Is(err, fs.ErrNotExist) {
			if _, lerr := os.Lstat(p); errors.Is(lerr, fs.ErrNotExist) {
				continue // vanished: another client moved or deleted it
			}
		}
		switch {
		case err != nil:
			f.err = source.Unreadable("cannot read "+p, err)
		case !info.Mode().IsRegular():
			f.err = source.Unreadable("cannot read "+p+": not a regular file", nil)
		}
		f.info = info
		files = append(files, f)
	}
	return files, nil
}

// Open returns the message's bytes with CRLF line endings. When the file
// List saw is gone, it looks in cur/ and new/ for the same unique name
// with another info (another client changed its flags or moved it from
// new/ to cur/). A message that is nowhere gives an error wrapping
// source.ErrNotFound; a failure Ref, or a file that cannot be read, one
// wrapping source.ErrUnreadable.
func (s *Source) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	s.mu.Lock()
	path, known := s.files[ref.ID]
	ferr := s.failed[ref.ID]
	s.mu.Unlock()
	if ferr != nil {
		return nil, ferr
	}
	i := strings.LastIndexByte(ref.ID, '/')
	if i < 0 || i == len(ref.ID)-1 {
		return nil, fmt.Errorf("maildir: open %q: not a Maildir message ID", ref.ID)
	}
	name, unique := ref.ID[:i], ref.ID[i+1:]
	if known {
		f, err := os.Open(path)
		if err == nil {
			return crlf.NewReader(f, f), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, source.Unreadable("cannot read "+path, err)
		}
	}
	return s.openRenamed(ctx, name, unique, ref.ID)
}

// openRenamed finds the file of a unique name in a folder and opens it,
// trying again if it is renamed between the search and the open.
func (s *Source) openRenamed(ctx context.Context, name, unique, id string) (io.ReadCloser, error) {
	dir, err := s.folderDir(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("maildir: open %s: %w", id, err)
	}
	for range 3 {
		path, err := findUnique(dir, unique)
		if err != nil {
			return nil, fmt.Errorf("maildir: open %s: %w", id, err)
		}
		f, err := os.Open(path)
		if err == nil {
			s.mu.Lock()
			s.files[id] = path
			s.mu.Unlock()
			return crlf.NewReader(f, f), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, source.Unreadable("cannot read "+path, err)
		}
	}
	return nil, fmt.Errorf("maildir: open %s: renamed while opening: %w", id, source.ErrNotFound)
}

// folderDir returns the directory of a folder, discovering the tree
// when Open comes before any List. An unknown folder wraps
// source.ErrNotFound.
func (s *Source) folderDir(ctx context.Context, name string) (string, error) {
	s.mu.Lock()
	dir, ok := s.dirs[name]
	known := s.dirs != nil
	s.mu.Unlock()
	if !ok && !known {
		if _, err := s.discover(ctx); err != nil {
			return "", err
		}
		s.mu.Lock()
		dir, ok = s.dirs[name]
		s.mu.Unlock()
	}
	if !ok {
		return "", fmt.Errorf("no folder %q: %w", name, source.ErrNotFound)
	}
	return dir, nil
}

// findUnique returns the path of the file in dir/cur or dir/new whose
// unique name is unique, or an error wrapping source.ErrNotFound.
func findUnique(dir, unique string) (string, error) {
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		for _, e := range ents {
			if u, _ := splitName(e.Name()); u == unique && !e.IsDir() {
				return filepath.Join(dir, sub, e.Name()), nil
			}
		}
	}
	return "", source.ErrNotFound
}

// Close releases nothing: the Source holds no open file between calls.
func (s *Source) Close() error { return nil }
