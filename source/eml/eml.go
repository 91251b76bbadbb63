package eml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/internal/crlf"
)

// Options configure a Source.
type Options struct {
	// Path is a directory tree of .eml/.emlx files, or one such file.
	Path string
	// IncludeDeleted lists .emlx messages flagged deleted too; by default
	// they are skipped.
	IncludeDeleted bool
	// Warn is told about what is left out without losing mail: a symbolic
	// link to a directory of the tree (its messages are listed where it
	// points). What cannot be read is listed as a failure Ref instead.
	// nil means discard.
	Warn func(path string, err error)
}

// Source reads one tree. It holds the tree's directory open (an os.Root:
// no ID can reach outside it) until Close. List must not run concurrently
// with itself; Open is safe to call concurrently, also with List.
type Source struct {
	opts Options
	dir  string   // the directory IDs are relative to
	only string   // for a single file: its name; "" for a tree
	root *os.Root // dir, opened

	mu     sync.Mutex
	failed map[string]error // failure Ref ID -> why it cannot be read
}

var _ source.Source = (*Source)(nil)

// New opens opts.Path, a directory or a single .eml/.emlx file (a single
// file with another name is read as .eml).
func New(opts Options) (*Source, error) {
	if opts.Path == "" {
		return nil, errors.New("eml: no path")
	}
	if opts.Warn == nil {
		opts.Warn = func(string, error) {}
	}
	fi, err := os.Stat(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("eml: %w", err)
	}
	s := &Source{opts: opts, dir: opts.Path, failed: map[string]error{}}
	if !fi.IsDir() {
		s.dir, s.only = filepath.Dir(opts.Path), filepath.Base(opts.Path)
		if kindOf(s.only) == kindPartial {
			return nil, fmt.Errorf("eml: %s: a partial .emlx (attachments stored apart) is not a whole message", opts.Path)
		}
	}
	if s.root, err = os.OpenRoot(s.dir); err != nil {
		return nil, fmt.Errorf("eml: %w", err)
	}
	return s, nil
}

// A kind is what a file name says a file holds.
type kind int

const (
	kindNone kind = iota
	kindEML
	kindEMLX
	kindPartial // Apple Mail's .partial.emlx
)

// kindOf classifies a file name, ignoring case.
func kindOf(name string) kind {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(name, "._"):
		return kindNone // AppleDouble metadata, not mail
	case strings.HasSuffix(lower, ".partial.emlx"):
		return kindPartial
	case strings.HasSuffix(lower, ".emlx"):
		return kindEMLX
	case strings.HasSuffix(lower, ".eml"):
		return kindEML
	}
	return kindNone
}

// List calls fn for every message file, depth-first, each directory's
// entries sorted by name. What cannot be read (a subdirectory, a
// .partial.emlx file, a link that leads nowhere or out of the tree, a
// message name on something that is not a file) is listed as a failure
// Ref whose Open gives the reason (see the package documentation). An
// error from fn is returned as is.
func (s *Source) List(ctx context.Context, fn func(source.Ref) error) error {
	if s.only != "" {
		k := kindOf(s.only)
		if k == kindNone {
			k = kindEML
		}
		return s.listFile(s.only, k, fn)
	}
	return s.walk(ctx, ".", fn)
}

// walk lists the files under dir (relative, "/"-separated, "." for the
// top) as fs.WalkDir would, but through the os.Root itself: io/fs refuses
// names that are not UTF-8, and old archives name folders in Latin-1.
func (s *Source) walk(ctx context.Context, dir string, fn func(source.Ref) error) error {
	ents, err := s.readDir(dir)
	if err != nil {
		if dir == "." {
			return fmt.Errorf("eml: %w", err)
		}
		// Its ID ends in "/": no file's does.
		return s.fail(dir+"/", folderOf(dir), source.Unreadable("cannot read folder "+s.show(dir), err), fn)
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := path.Join(dir, e.Name())
		switch k := kindOf(e.Name()); {
		case e.IsDir():
			err = s.walk(ctx, p, fn)
		case e.Type()&fs.ModeSymlink != 0:
			err = s.listLink(p, k, fn)
		default:
			err = s.listFile(p, k, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// listLink lists what the symbolic link at p leads to, through the tree's
// os.Root: a file as any other; a directory of the tree is not followed
// (its messages are listed where it is). A link that leads nowhere, out
// of the tree, or to something that is not a file is a failure Ref.
func (s *Source) listLink(p string, k kind, fn func(source.Ref) error) error {
	fi, err := s.root.Stat(filepath.FromSlash(p))
	switch {
	case err != nil:
		return s.fail(p, folderOf(path.Dir(p)), source.Unreadable("cannot read "+s.show(p)+
			": a symbolic link that cannot be followed inside the tree (give what it points to as a source of its own)", err), fn)
	case fi.IsDir():
		s.opts.Warn(filepath.Join(s.dir, filepath.FromSlash(p)), errors.New("not followed: a symbolic link to a directory of the tree, whose messages are listed there"))
		return nil
	case !fi.Mode().IsRegular() && k != kindNone:
		return s.fail(p, folderOf(path.Dir(p)), source.Unreadable("cannot read "+s.show(p)+": not a regular file", nil), fn)
	}
	return s.listFile(p, k, fn)
}

// fail lists a failure Ref: its Open returns err.
func (s *Source) fail(id, folder string, err error, fn func(source.Ref) error) error {
	s.mu.Lock()
	s.failed[id] = err
	s.mu.Unlock()
	return fn(source.Ref{ID: id, Folder: folder})
}

// show names a path of the tree (relative, "/"-separated) for a reason.
func (s *Source) show(p string) string { return filepath.Join(s.dir, filepath.FromSlash(p)) }

// readDir returns the entries of dir sorted by name.
func (s *Source) readDir(dir string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(filepath.FromSlash(dir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, err
}

// listFile calls fn for the file at p (relative, "/"-separated) if it is
// a message to list.
func (s *Source) listFile(p string, k kind, fn func(source.Ref) error) error {
	ref := source.Ref{ID: p, Folder: folderOf(path.Dir(p))}
	switch k {
	case kindNone:
		return nil
	case kindPartial:
		return s.fail(p, ref.Folder, source.Unreadable("cannot read "+s.show(p)+": a partial .emlx, whose attachments "+
			"Apple Mail keeps in other files; export the mailbox from Apple Mail (Mailbox > Export Mailbox) and give the export as an mbox source", nil), fn)
	case kindEMLX:
		// A malformed file is listed all the same: Open reports it.
		if m, err := s.meta(p); err == nil {
			if m.deleted() && !s.opts.IncludeDeleted {
				return nil
			}
			ref.Flags, ref.Date = m.imapFlags(), m.received
			ref.SizeEstimate = crlf.Estimate(m.n)
		}
	default:
		// A file that cannot be read now is listed all the same: Open
		// reports it.
		if fi, err := s.root.Stat(filepath.FromSlash(p)); err == nil {
			ref.SizeEstimate = crlf.Estimate(fi.Size())
		}
	}
	return fn(ref)
}

// meta parses the .emlx file at p.
func (s *Source) meta(p string) (emlxMeta, error) {
	f, fi, err := s.openFile(filepath.FromSlash(p))
	if err != nil {
		return emlxMeta{}, err
	}
	defer f.Close()
	return parseEMLX(f, fi.Size())
}

// folderOf maps a file's directory (relative, "/"-separated, "." for the
// top) to its folder: the directory itself, except that inside an Apple
// Mail "Name.mbox" bundle only the bundle names count, without ".mbox".
func folderOf(dir string) string {
	if dir == "." {
		return ""
	}
	var out []string
	inBundle := false
	for _, part := range strings.Split(dir, "/") {
		if name, ok := strings.CutSuffix(part, ".mbox"); ok && name != "" {
			out, inBundle = append(out, name), true
			continue
		}
		if !inBundle {
			out = append(out, part)
		}
	}
	return strings.Join(out, "/")
}

// Open returns the message's bytes with CRLF line endings. A file that
// is gone gives an error wrapping source.ErrNotFound; a malformed .emlx
// one wrapping ErrMalformed, naming the file and the reason; a failure
// Ref, or a file that cannot be read, one wrapping source.ErrUnreadable.
func (s *Source) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	ferr := s.failed[ref.ID]
	s.mu.Unlock()
	if ferr != nil {
		return nil, ferr
	}
	name := filepath.FromSlash(ref.ID)
	full := filepath.Join(s.dir, name)
	if !filepath.IsLocal(name) || (s.only != "" && ref.ID != s.only) {
		return nil, fmt.Errorf("eml: open %q: %w", ref.ID, source.ErrNotFound)
	}
	f, fi, err := s.openFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("eml: open %s: %w", full, source.ErrNotFound)
	}
	if err != nil {
		return nil, source.Unreadable("cannot read "+full, err)
	}
	rc, err := body(f, fi, kindOf(path.Base(ref.ID)))
	if err != nil {
		f.Close()
		if !errors.Is(err, source.ErrUnreadable) {
			return nil, source.Unreadable("cannot read "+full, err)
		}
		return nil, fmt.Errorf("eml: open %s: %w", full, err)
	}
	return rc, nil
}

// body returns the reader of the message in f, a regular file (fi),
// which it closes.
func body(f *os.File, fi fs.FileInfo, k kind) (io.ReadCloser, error) {
	if k != kindEMLX {
		return crlf.NewReader(f, f), nil
	}
	m, err := parseEMLX(f, fi.Size())
	if err != nil {
		return nil, err
	}
	return crlf.NewReader(io.NewSectionReader(f, m.off, m.n), f), nil
}

// Close closes the tree's directory.
func (s *Source) Close() error { return s.root.Close() }
