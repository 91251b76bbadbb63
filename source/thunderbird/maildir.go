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

var errNotFolder = errors.New("skipped: not a folder of a maildir store")

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

// maildirFolders returns the folders of the maildir store at dir, sorted
// by rel: each directory with cur/ or new/, subfolders in NAME.sbd/.
// Other directories and files that are not Thunderbird's own are
// reported to warn.
func maildirFolders(ctx context.Context, dir string, warn func(string, error)) ([]mdFolder, error) {
	var out []mdFolder
	err := walkMaildir(ctx, dir, "", "", &out, warn)
	sortBy(out, func(f mdFolder) string { return f.rel })
	return out, err
}

func walkMaildir(ctx context.Context, dir, rel, name string, out *[]mdFolder, warn func(string, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range ents {
		n, p := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(n, ".") || !e.IsDir() && metaFile(n):
		case e.IsDir() && strings.HasSuffix(n, ".sbd") && len(n) > 4:
			if err := walkMaildir(ctx, p, rel+n+"/", name+strings.TrimSuffix(n, ".sbd")+"/", out, warn); err != nil {
				return err
			}
		case e.IsDir() && isMaildirFolder(p):
			*out = append(*out, mdFolder{rel: rel + n, name: name + n, dir: p})
		default:
			warn(p, errNotFolder)
		}
	}
	return nil
}

// metaFile reports whether a file of an account directory is one of
// Thunderbird's index and settings files.
func metaFile(name string) bool {
	switch strings.ToLower(name) {
	case "filterlog.html", "junklog.html", "msgfilterrules.dat", "popstate.dat":
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".msf", ".dat", ".json", ".html":
		return true
	}
	return false
}

// mdStore is one folder of a maildir store, read by source/maildir.
type mdStore struct {
	key    string // Ref.ID prefix: account key, "/", rel
	folder string // Ref.Folder
	src    *maildir.Source
	opts   Options
	warned bool // a stray subfolder was reported
}

func newMDStore(a *account, f mdFolder, opts Options) (*mdStore, error) {
	src, err := maildir.New(maildir.Options{Path: f.dir, IncludeDeleted: opts.IncludeDeleted, Warn: opts.Warn})
	if err != nil {
		return nil, err
	}
	return &mdStore{key: a.key + "/" + f.rel, folder: a.folder(f.name), src: src, opts: opts}, nil
}

func (s *mdStore) prefix() string { return s.key }

// inner returns the inner ID of id, which starts with s.key.
func (s *mdStore) inner(id string) string { return id[len(s.key):] }

func (s *mdStore) close() error { return s.src.Close() }

// list gives the folder's messages with the flags of their headers; the
// expunged ones, and \Deleted ones unless IncludeDeleted, are left out.
func (s *mdStore) list(ctx context.Context, fn func(source.Ref) error) error {
	return s.src.List(ctx, func(r source.Ref) error {
		if r.Folder != "" {
			if !s.warned {
				s.warned = true
				s.opts.Warn(s.key+r.ID, errNotFolder)
			}
			return nil
		}
		ref, ok := s.ref(ctx, r)
		if !ok {
			return nil
		}
		return fn(ref)
	})
}

// ref maps an inner Ref; ok is false when the message is left out. A
// header that cannot be read is reported and the message listed without
// its flags, so that Open reports the failure for it.
func (s *mdStore) ref(ctx context.Context, r source.Ref) (ref source.Ref, ok bool) {
	ref = source.Ref{ID: s.key + r.ID, Folder: s.folder, SizeEstimate: r.ApproxSize(), Flags: r.Flags, Date: r.Date}
	hdr, err := s.header(ctx, r)
	if errors.Is(err, source.ErrNotFound) {
		return ref, false
	}
	if err != nil {
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
