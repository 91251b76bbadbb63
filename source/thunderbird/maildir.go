package thunderbird

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mailferry/mailferry/internal/mailtime"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/source/mbox"
)

// maxHeader bounds the header bytes read for flags and the date, as
// source/mbox does.
const maxHeader = 64 << 10

var errNoMail = errors.New("skipped: not a folder of a maildir store, and it holds no mail")

// An mdFolder is one folder of a Thunderbird maildir store.
type mdFolder struct {
	rel  string // its directory relative to the account, "/"-separated
	name string // its folder path in the account
	dir  string
}

// isMaildirFolder reports whether dir holds cur/ or new/.
func isMaildirFolder(dir string) bool {
	return isDir(filepath.Join(dir, "cur")) || isDir(filepath.Join(dir, "new"))
}

// hasMaildirFolder reports whether an account directory holds a maildir
// folder (a subdirectory other than NAME.sbd with cur/ or new/).
func hasMaildirFolder(dir string) bool {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".sbd") && isMaildirFolder(filepath.Join(dir, e.Name())) {
			return true
		}
	}
	return false
}

// maildirFolders returns the folders of the maildir store of account a,
// sorted by rel: each directory with cur/ or new/, subfolders in
// NAME.sbd/. Directories and files that are neither folders nor
// Thunderbird's own, and may hold mail, are returned as failures.
func maildirFolders(ctx context.Context, a *account, warn func(string, error)) ([]mdFolder, []failure, error) {
	w := &mdWalk{acct: a, warn: warn}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return nil, nil, err
	}
	if err := w.walk(ctx, a.dir, "", "", ents); err != nil {
		return nil, nil, err
	}
	sortBy(w.folders, func(f mdFolder) string { return f.rel })
	return w.folders, w.fails, nil
}

// mdWalk walks the directories of a maildir store.
type mdWalk struct {
	acct    *account
	warn    func(string, error)
	folders []mdFolder
	fails   []failure
}

func (w *mdWalk) walk(ctx context.Context, dir, rel, name string, ents []os.DirEntry) error {
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, p := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(n, ".") || notMail(n):
		case e.IsDir() && strings.HasSuffix(n, ".sbd") && len(n) > 4:
			sub, err := os.ReadDir(p)
			if err != nil {
				w.fail(rel+n, name+strings.TrimSuffix(n, ".sbd"), source.Unreadable("cannot read folder "+p, err))
				continue
			}
			if err := w.walk(ctx, p, rel+n+"/", name+strings.TrimSuffix(n, ".sbd")+"/", sub); err != nil {
				return err
			}
		case e.IsDir() && isMaildirFolder(p):
			w.folders = append(w.folders, mdFolder{rel: rel + n, name: name + n, dir: p})
		case holdsMail(p):
			w.fail(rel+n, name+n, source.Unreadable("cannot read "+p+": not a folder of Thunderbird's maildir store "+
				"(a folder has cur/ and new/, its subfolders are in NAME.sbd/); give it as a source of its own", nil))
		default:
			w.warn(p, errNoMail)
		}
	}
	return nil
}

// fail records a failure for the entry at rel (its path in the account)
// whose folder would be name.
func (w *mdWalk) fail(rel, name string, err error) {
	w.fails = append(w.fails, failure{ref: source.Ref{ID: w.acct.key + "/" + rel, Folder: w.acct.folder(name)}, err: err})
}

// notMail reports whether an entry of an account directory is known to
// hold no mail: Thunderbird's index, settings and search files, and the
// desktop's own files.
func notMail(name string) bool {
	switch strings.ToLower(name) {
	case "filterlog.html", "junklog.html", "msgfilterrules.dat", "popstate.dat", "desktop.ini", "thumbs.db":
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".msf", ".dat", ".json", ".html", ".mozmsgs", ".sqlite":
		return true
	}
	return false
}

// mdStore is one folder of a maildir store, read by source/maildir.
type mdStore struct {
	key    string // Ref.ID prefix: account key, "/", rel
	folder string // Ref.Folder
	inbox  bool   // the account's Inbox
	dir    string
	src    *maildir.Source
	opts   Options
	fails  *failures
}

func newMDStore(a *account, f mdFolder, opts Options, fails *failures) (*mdStore, error) {
	src, err := maildir.New(maildir.Options{Path: f.dir, IncludeDeleted: opts.IncludeDeleted, Warn: opts.Warn})
	if err != nil {
		return nil, err
	}
	return &mdStore{key: a.key + "/" + f.rel, folder: a.folder(f.name), inbox: isInbox(f.name), dir: f.dir,
		src: src, opts: opts, fails: fails}, nil
}

func (s *mdStore) prefix() string { return s.key }

// inner returns the inner ID of id, which starts with s.key.
func (s *mdStore) inner(id string) string { return id[len(s.key):] }

func (s *mdStore) close() error { return s.src.Close() }

// list gives the folder's messages with the flags of their headers; the
// expunged ones, and \Deleted ones unless IncludeDeleted, are left out.
// A folder inside the folder (Thunderbird keeps subfolders in NAME.sbd/)
// is one failure Ref.
func (s *mdStore) list(ctx context.Context, fn func(source.Ref, bool) error) error {
	stray := map[string]bool{}
	return s.src.List(ctx, func(r source.Ref) error {
		if r.Folder != "" {
			if top, _, _ := strings.Cut(r.Folder, "/"); !stray[top] {
				stray[top] = true
				d := filepath.Join(s.dir, top)
				return fn(s.fails.add(source.Ref{ID: s.key + "/" + top + "/", Folder: s.folder + "/" + nfc(top)},
					source.Unreadable("cannot read folder "+d+": a maildir folder inside a folder of Thunderbird's maildir store, "+
						"where Thunderbird keeps none (subfolders are in NAME.sbd/); give it as a maildir source of its own", nil)), s.inbox)
			}
			return nil
		}
		ref, ok := s.ref(ctx, r)
		if !ok {
			return nil
		}
		return fn(ref, s.inbox)
	})
}

// ref maps an inner Ref; ok is false when the message is left out. A
// header that cannot be read is reported and the message listed without
// its flags, so that Open reports the failure for it.
func (s *mdStore) ref(ctx context.Context, r source.Ref) (ref source.Ref, ok bool) {
	ref = source.Ref{ID: s.key + r.ID, Folder: s.folder, SizeEstimate: r.ApproxSize(), Flags: r.Flags, Date: r.Date}
	hdr, err := s.header(ctx, r)
	switch {
	case errors.Is(err, source.ErrNotFound):
		return ref, false
	case errors.Is(err, source.ErrUnreadable):
		return ref, true // a failure: Open says why
	case err != nil:
		s.opts.Warn(ref.ID, fmt.Errorf("flags not read: %w", err))
		return ref, true
	}
	flags, expunged := mbox.Flags(hdr, true)
	ref.Flags = union(r.Flags, flags)
	if hasDate(hdr) {
		ref.Date = time.Time{}
	}
	return ref, !expunged && (s.opts.IncludeDeleted || !slices.Contains(ref.Flags, `\Deleted`))
}

// open returns the message of an inner Ref without the envelope line
// Thunderbird may have written at its top (see dropEnvelope).
func (s *mdStore) open(ctx context.Context, r source.Ref) (io.ReadCloser, error) {
	rc, err := s.src.Open(ctx, r)
	if err != nil {
		return nil, err
	}
	return dropEnvelope(rc), nil
}

// header returns the header block of a message, at most maxHeader bytes.
func (s *mdStore) header(ctx context.Context, r source.Ref) ([]byte, error) {
	rc, err := s.open(ctx, r)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readHeader(bufio.NewReader(io.LimitReader(rc, maxHeader)))
}

// readHeader reads lines up to the first empty one.
func readHeader(br *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		if bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n")) {
			return hdr, nil
		}
		hdr = append(hdr, line...)
		switch {
		case err == io.EOF:
			return hdr, nil
		case err != nil && err != bufio.ErrBufferFull:
			return nil, err
		}
	}
}

// hasDate reports whether the header has a Date field that parses.
func hasDate(hdr []byte) bool {
	msg, err := mail.ReadMessage(io.MultiReader(bytes.NewReader(hdr), strings.NewReader("\r\n")))
	if err != nil {
		return false
	}
	_, err = mailtime.ParseDate(msg.Header.Get("Date"))
	return err == nil
}

// union returns a followed by the flags of b it lacks.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, f := range b {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
