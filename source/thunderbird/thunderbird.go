package thunderbird

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

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
	// MergeAccounts names the accounts whose folders are merged into the
	// top level, like the default account's and Local Folders' (which
	// always are): by their name (prefs.js mail.server.serverN.name, as
	// Thunderbird shows it) or their directory name under Mail/; "*"
	// names every account. The others' folders sit under their name. A
	// name no account has makes New fail.
	MergeAccounts []string
	// Warn, if not nil, is told about what is left out without losing
	// mail: IMAP, news and feed accounts, directories without mail, and
	// what the inner sources report. What holds mail and cannot be read
	// is listed as a failure Ref instead (see the package documentation).
	Warn func(path string, err error)
}

// Source reads the local mail stores of a Thunderbird profile. It never
// writes to them. Open and Close are safe for concurrent use; List must
// not run concurrently with another List.
type Source struct {
	stores []store   // in listing order
	found  []failure // what New found not to be read
	fails  *failures // every failure Ref listed, for Open
}

// failures are the failure Refs of a Source, by ID.
type failures struct {
	mu  sync.Mutex
	err map[string]error
}

// add records ref as a failure whose Open returns err, and returns it.
func (f *failures) add(ref source.Ref, err error) source.Ref {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err[ref.ID] = err
	return ref
}

func (f *failures) get(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err[id]
}

var _ source.Source = (*Source)(nil)

// A store is one inner source: an account's mbox tree, or one folder of
// an account's maildir store.
type store interface {
	prefix() string      // every Ref.ID of the store starts with it
	inner(string) string // the inner ID of an ID with the prefix
	// list gives each Ref, and whether it is in the account's Inbox.
	list(context.Context, func(ref source.Ref, inbox bool) error) error
	open(context.Context, source.Ref) (io.ReadCloser, error) // by inner Ref
	close() error
}

// New finds the accounts and mail stores under opts.Path and returns a
// Source for them. It fails when Path is not a directory or holds no
// local mail store, or when MergeAccounts names an account that is not
// there; what it leaves out without losing mail goes to opts.Warn.
func New(opts Options) (*Source, error) {
	if opts.Path == "" {
		return nil, errors.New("thunderbird: no path")
	}
	if opts.Warn == nil {
		opts.Warn = func(string, error) {}
	}
	opts.Path = filepath.Clean(opts.Path)
	d, err := findAccounts(opts.Path, opts.MergeAccounts, opts.Warn)
	if err != nil {
		return nil, fmt.Errorf("thunderbird: %w", err)
	}
	s := &Source{found: d.fails, fails: &failures{err: map[string]error{}}}
	for _, a := range d.accts {
		stores, fails, err := openAccount(a, opts, s.fails)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("thunderbird: account %s: %w", a.dir, err)
		}
		s.stores = append(s.stores, stores...)
		s.found = append(s.found, fails...)
	}
	return s, nil
}

// openAccount returns the inner sources of one account, and the entries
// of its maildir store that hold mail but are not folders.
func openAccount(a *account, opts Options, fails *failures) ([]store, []failure, error) {
	if !a.maildir {
		st, err := newMboxStore(a, opts, fails)
		if err != nil {
			return nil, nil, err
		}
		return []store{st}, nil, nil
	}
	folders, found, err := maildirFolders(context.Background(), a, opts.Warn)
	if err != nil {
		return nil, nil, err
	}
	var stores []store
	for _, f := range folders {
		st, err := newMDStore(a, f, opts, fails)
		if err != nil {
			closeAll(stores)
			return nil, nil, err
		}
		stores = append(stores, st)
	}
	return stores, found, nil
}

// List calls fn for each message: first what New found not to be read
// (failure Refs), then every account's messages but those of its Inbox,
// account by account (the primary first, then by directory name), each
// in its inner source's order, and last every account's Inbox, in the
// same order. The filed copy of a message that is also in an Inbox is
// so listed first, and with dedup it is the one copied. Expunged
// messages, and \Deleted ones unless Options.IncludeDeleted, are left
// out. An error from fn is returned as is; others are wrapped.
func (s *Source) List(ctx context.Context, fn func(source.Ref) error) error {
	for _, f := range s.found {
		if err := fn(s.fails.add(f.ref, f.err)); err != nil {
			return err
		}
	}
	var inbox []source.Ref // Refs are small: the Inboxes wait in memory
	for _, st := range s.stores {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := st.list(ctx, func(r source.Ref, in bool) error {
			if in {
				inbox = append(inbox, r)
				return nil
			}
			return fn(r)
		})
		if err != nil {
			return err
		}
	}
	for _, r := range inbox {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// isInbox reports whether a folder path of an account is its Inbox
// (where POP3 mail arrives), not a folder the person filed mail into.
func isInbox(inner string) bool { return strings.EqualFold(inner, "Inbox") }

// Open returns the message ref names, read by the inner source of its
// store: exact bytes, CRLF line endings. A failure Ref gives an error
// wrapping source.ErrUnreadable that says why; an ID no store owns one
// wrapping source.ErrNotFound; other errors are the inner source's. The
// caller closes the reader.
func (s *Source) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	if err := s.fails.get(ref.ID); err != nil {
		return nil, err
	}
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
	acct  *account
	src   *mbox.Source
	warn  func(string, error) // Options.Warn
	fails *failures

	mu      sync.Mutex
	listing bool      // a List is under way: warnings wait in warned
	warned  []warning // what source/mbox reported during it
}

// A warning is what an inner source reported.
type warning struct {
	path string
	err  error
}

func newMboxStore(a *account, opts Options, fails *failures) (*mboxStore, error) {
	s := &mboxStore{acct: a, warn: opts.Warn, fails: fails}
	src, err := mbox.New(mbox.Options{Path: a.dir, IncludeDeleted: opts.IncludeDeleted, Mozilla: true, Warn: s.onWarn})
	if err != nil {
		return nil, err
	}
	s.src = src
	return s, nil
}

// onWarn keeps what source/mbox reports during a List, for list to look
// at; other reports go to Options.Warn.
func (s *mboxStore) onWarn(path string, err error) {
	s.mu.Lock()
	if s.listing {
		s.warned = append(s.warned, warning{path, err})
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.warn(path, err)
}

func (s *mboxStore) prefix() string         { return s.acct.key }
func (s *mboxStore) inner(id string) string { return id[len(s.acct.key)+1:] }
func (s *mboxStore) close() error           { return s.src.Close() }

func (s *mboxStore) open(ctx context.Context, r source.Ref) (io.ReadCloser, error) {
	return s.src.Open(ctx, r)
}

// list gives the messages of the account's mbox files. A file that
// source/mbox reported and gave no message of (it is not an mbox, not a
// regular file) is a failure Ref of ID account key, "/", and the file's
// path in the account: never a silent skip.
func (s *mboxStore) list(ctx context.Context, fn func(source.Ref, bool) error) error {
	s.mu.Lock()
	s.listing, s.warned = true, nil
	s.mu.Unlock()
	read := map[string]bool{} // files that gave a message, by path in the account
	err := s.src.List(ctx, func(r source.Ref) error {
		file, _, _ := strings.Cut(r.ID, "#")
		read[file] = true
		in := isInbox(r.Folder)
		r.ID = s.acct.key + "/" + r.ID
		r.Folder = s.acct.folder(r.Folder)
		return fn(r, in)
	})
	s.mu.Lock()
	s.listing = false
	warned := s.warned
	s.mu.Unlock()
	for _, w := range warned {
		rel, ok := s.relFile(w.path)
		if err != nil || !ok || read[rel] || notMail(filepath.Base(rel)) {
			s.warn(w.path, w.err)
			continue
		}
		folder := mboxFolder(rel)
		ref := source.Ref{ID: s.acct.key + "/" + rel, Folder: s.acct.folder(folder)}
		if ferr := fn(s.fails.add(ref, source.Unreadable("cannot read "+w.path, w.err)), isInbox(folder)); ferr != nil {
			return ferr
		}
	}
	return err
}

// relFile returns the "/"-separated path of a file of the account.
func (s *mboxStore) relFile(path string) (string, bool) {
	rel, err := filepath.Rel(s.acct.dir, path)
	if err != nil || !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// mboxFolder returns the folder of the file at rel in an mbox store:
// "Inbox.sbd/Work" is "Inbox/Work", and a directory "Inbox.sbd" itself
// would be the subfolders of "Inbox".
func mboxFolder(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		if len(p) > 4 {
			parts[i] = strings.TrimSuffix(p, ".sbd")
		}
	}
	return strings.Join(parts, "/")
}

// nfc returns a folder path in Unicode normalization form C.
func nfc(s string) string { return norm.NFC.String(s) }
