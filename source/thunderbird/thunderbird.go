package thunderbird

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/mbox"
)

// Options configure a Source. Only Path is required.
type Options struct {
	// Path is a Thunderbird profile directory, its Mail/ directory, or
	// one account directory under Mail/ (see the package documentation).
	Path string
	// IncludeDeleted lists messages marked \Deleted too (with the flag).
	// Messages Thunderbird marked expunged are never listed.
	IncludeDeleted bool
	// Warn, if not nil, is told about each account, directory or file
	// that is skipped, and about what the inner sources skip.
	Warn func(path string, err error)
}

// Source reads the local mail stores of a Thunderbird profile. It never
// writes to them. Open and Close are safe for concurrent use; List must
// not run concurrently with another List.
type Source struct {
	stores []store // in listing order
}

var _ source.Source = (*Source)(nil)

// A store is one inner source: an account's mbox tree, or one folder of
// an account's maildir store.
type store interface {
	prefix() string      // every Ref.ID of the store starts with it
	inner(string) string // the inner ID of an ID with the prefix
	list(context.Context, func(source.Ref) error) error
	open(context.Context, source.Ref) (io.ReadCloser, error) // by inner Ref
	close() error
}

// New finds the accounts and mail stores under opts.Path and returns a
// Source for them. It fails when Path is not a directory or holds no
// local mail store; accounts and folders it skips go to opts.Warn.
func New(opts Options) (*Source, error) {
	if opts.Path == "" {
		return nil, errors.New("thunderbird: no path")
	}
	if opts.Warn == nil {
		opts.Warn = func(string, error) {}
	}
	opts.Path = filepath.Clean(opts.Path)
	accts, err := findAccounts(opts.Path, opts.Warn)
	if err != nil {
		return nil, fmt.Errorf("thunderbird: %w", err)
	}
	s := &Source{}
	for _, a := range accts {
		stores, err := openAccount(a, opts)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("thunderbird: account %s: %w", a.dir, err)
		}
		s.stores = append(s.stores, stores...)
	}
	return s, nil
}

// openAccount returns the inner sources of one account.
func openAccount(a *account, opts Options) ([]store, error) {
	if !a.maildir {
		st, err := newMboxStore(a, opts)
		if err != nil {
			return nil, err
		}
		return []store{st}, nil
	}
	folders, err := maildirFolders(context.Background(), a.dir, opts.Warn)
	if err != nil {
		return nil, err
	}
	var stores []store
	for _, f := range folders {
		st, err := newMDStore(a, f, opts)
		if err != nil {
			closeAll(stores)
			return nil, err
		}
		stores = append(stores, st)
	}
	return stores, nil
}

// List calls fn for each message, account by account (the primary
// first, then by directory name), each in its inner source's order.
// Expunged messages, and \Deleted ones unless Options.IncludeDeleted,
// are left out. An error from fn is returned as is; others are wrapped.
func (s *Source) List(ctx context.Context, fn func(source.Ref) error) error {
	for _, st := range s.stores {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := st.list(ctx, fn); err != nil {
			return err
		}
	}
	return nil
}

// Open returns the message ref names, read by the inner source of its
// store: exact bytes, CRLF line endings. An ID no store owns gives an
// error wrapping source.ErrNotFound; other errors are the inner source's.
// The caller closes the reader.
func (s *Source) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	st := s.storeOf(ref.ID)
	if st == nil {
		return nil, fmt.Errorf("thunderbird: open %q: no such store: %w", ref.ID, source.ErrNotFound)
	}
	inner := ref
	inner.ID = st.inner(ref.ID)
	return st.open(ctx, inner)
}

// storeOf returns the store with the longest prefix that, followed by
// '/', starts id; nil if none.
func (s *Source) storeOf(id string) store {
	var best store
	for _, st := range s.stores {
		p := st.prefix() + "/"
		if strings.HasPrefix(id, p) && (best == nil || len(p) > len(best.prefix())+1) {
			best = st
		}
	}
	return best
}

// Close closes the inner sources. The profile is left as it was.
func (s *Source) Close() error { return closeAll(s.stores) }

func closeAll(stores []store) error {
	var err error
	for _, st := range stores {
		err = errors.Join(err, st.close())
	}
	return err
}

// mboxStore is an account's mbox tree, read by source/mbox.
type mboxStore struct {
	acct *account
	src  *mbox.Source
}

func newMboxStore(a *account, opts Options) (*mboxStore, error) {
	src, err := mbox.New(mbox.Options{Path: a.dir, IncludeDeleted: opts.IncludeDeleted, Mozilla: true, Warn: opts.Warn})
	if err != nil {
		return nil, err
	}
	return &mboxStore{acct: a, src: src}, nil
}

func (s *mboxStore) prefix() string         { return s.acct.key }
func (s *mboxStore) inner(id string) string { return id[len(s.acct.key)+1:] }
func (s *mboxStore) close() error           { return s.src.Close() }

func (s *mboxStore) open(ctx context.Context, r source.Ref) (io.ReadCloser, error) {
	return s.src.Open(ctx, r)
}

func (s *mboxStore) list(ctx context.Context, fn func(source.Ref) error) error {
	return s.src.List(ctx, func(r source.Ref) error {
		r.ID = s.acct.key + "/" + r.ID
		r.Folder = s.acct.folder(r.Folder)
		return fn(r)
	})
}

// nfc returns a folder path in Unicode normalization form C.
func nfc(s string) string { return norm.NFC.String(s) }
