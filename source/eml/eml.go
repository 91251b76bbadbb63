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
	// Warn is told about what is skipped: .partial.emlx files, unreadable
	// directories. nil means discard.
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
	s := &Source{opts: opts, dir: opts.Path}
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
// entries sorted by name. An unreadable subdirectory is skipped with a
// warning. An error from fn is returned as is.
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
		s.opts.Warn(filepath.Join(s.dir, filepath.FromSlash(dir)), fmt.Errorf("skipped: %w", err))
		return nil
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := path.Join(dir, e.Name())
		if e.IsDir() {
			err = s.walk(ctx, p, fn)
		} else {
			err = s.listFile(p, kindOf(e.Name()), fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

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
		s.opts.Warn(filepath.Join(s.dir, p), errors.New("skipped: partial .emlx, its attachments are stored in other files"))
		return nil
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
	f, err := s.root.Open(filepath.FromSlash(p))
	if err != nil {
		return emlxMeta{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return emlxMeta{}, err
	}
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
// one wrapping ErrMalformed, naming the file and the reason.
func (s *Source) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := filepath.FromSlash(ref.ID)
	full := filepath.Join(s.dir, name)
	if !filepath.IsLocal(name) || (s.only != "" && ref.ID != s.only) {
		return nil, fmt.Errorf("eml: open %q: %w", ref.ID, source.ErrNotFound)
	}
	f, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("eml: open %s: %w", full, source.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("eml: open %s: %w", full, err)
	}
	rc, err := body(f, kindOf(path.Base(ref.ID)))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("eml: open %s: %w", full, err)
	}
	return rc, nil
}

// body returns the reader of the message in f, which it closes.
func body(f *os.File, k kind) (io.ReadCloser, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
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
