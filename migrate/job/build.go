package job

import (
	"github.com/mailferry/mailferry/internal/oauth2"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	_ "github.com/mailferry/mailferry/source/all" // every archive kind
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap"
)

// Job is a built job: its Migrator, with the state open (and locked) and
// the target connected; sources connect when the run reaches them.
type Job struct {
	Migrator *migrate.Migrator
	target   *imap.Target
	store    *state.Store // nil in a dry run without a state file
}

// Close closes the target's connections and the state.
func (j *Job) Close() error {
	var errs []error
	if j.target != nil {
		errs = append(errs, j.target.Close())
	}
	if j.store != nil {
		errs = append(errs, j.store.Close())
	}
	return errors.Join(errs...)
}

// Build validates c, opens the state (taking its lock), opens each
// archive once to check it, resolves the passwords and connects to the
// target. log gets the run's log and the archives' warnings; nil
// discards them. The caller sets the Migrator's Event and calls Run or
// Verify, then Close.
func Build(ctx context.Context, c Config, log *slog.Logger) (*Job, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j := &Job{}
	ok := false
	defer func() {
		if !ok {
			j.Close()
		}
	}()
	store, err := state.Open(c.State, state.Options{LockTimeout: c.LockTimeout, ReadOnly: c.DryRun})
	switch {
	case c.DryRun && errors.Is(err, fs.ErrNotExist):
		// Nothing done yet: a dry run sees an empty state.
	case err != nil:
		return nil, err // "state open PATH: …"
	default:
		j.store = store
	}
	specs, err := sourceSpecs(ctx, c.Sources, log)
	if err != nil {
		return nil, err
	}
	tgt, err := openTarget(ctx, &c.Target, log)
	if err != nil {
		return nil, err
	}
	j.target = tgt
	j.Migrator = &migrate.Migrator{
		Target:  withQuota(tgt, &c.Target, j.store, c.DryRun),
		State:   storeFor(j.store, c.DryRun),
		Sources: specs,
		Options: migrate.Options{Dedup: c.Dedup, DryRun: c.DryRun,
			Uploaders: tgt.MaxInFlight(), Settle: c.Settle, Logger: log,
			Recheck: c.Recheck, MaxBytesPerSecond: c.Target.MaxBytesPerSecond},
	}
	ok = true
	return j, nil
}

func storeFor(s *state.Store, dryRun bool) migrate.Store {
	if dryRun {
		return readOnlyStore{s}
	}
	return s
}

// password asks e for the password of the server a names.
func (e *Server) password(ctx context.Context, a Addr) (string, error) {
	if e.oauth2() {
		return "", nil
	}
	if e.Password == nil {
		return "", configErrorf("no password for %s", e.loginName(a))
	}
	return e.Password(ctx, e.loginName(a))
}

// loginName names whose password a login needs: the server's, or that
// of its admin.
func (e *Server) loginName(a Addr) string {
	if e.AdminUser != "" {
		return fmt.Sprintf("admin %s on %s", e.AdminUser, a.Name())
	}
	return a.Name()
}

func openTarget(ctx context.Context, e *Server, log *slog.Logger) (*imap.Target, error) {
	srv, err := e.Parse("imap")
	if err != nil {
		return nil, err
	}
	pass, err := e.password(ctx, srv)
	if err != nil {
		return nil, err
	}
	tc, err := e.tlsConfig(srv)
	if err != nil {
		return nil, err
	}
	e.warnSkipVerify(log, "target", srv)
	mode := imap.TLSStartTLS
	switch {
	case srv.Plain:
		mode = imap.TLSNone
	case srv.Implicit:
		mode = imap.TLSImplicit
	}
	tokens, err := e.tokenSource()
	if err != nil {
		return nil, err
	}
	t, err := imap.New(ctx, imap.Options{Addr: srv.Addr, TLS: mode, TLSConfig: tc, Username: srv.User,
		Password: pass, AdminUser: e.AdminUser, MasterSeparator: e.MasterSeparator, Connections: e.Connections,
		Timeout: e.Timeout, Logger: log, MaxMessageSize: maxMessageSize(e), OAuth: tokens, OAuthMech: e.Auth})
	if err != nil {
		return nil, &migrate.ConnectError{What: "target " + srv.Name(), Err: err}
	}
	return t, nil
}

// sourceSpecs makes the specs of the sources, in their order.
func sourceSpecs(ctx context.Context, sources []Source, log *slog.Logger) ([]migrate.SourceSpec, error) {
	var specs []migrate.SourceSpec
	for i := range sources {
		s := &sources[i]
		var spec migrate.SourceSpec
		var err error
		if kind, p, ok := source.ParseArchiveURL(s.URL); ok {
			spec, err = archiveSpec(s, kind, p, log)
		} else {
			spec, err = pop3Spec(ctx, s, i, log)
		}
		if err != nil {
			return nil, err
		}
		spec.Filter = migrate.Filter{Since: s.Since, Before: s.Before, MaxSize: s.MaxMessageSize}
		specs = append(specs, spec)
	}
	return specs, nil
}

// pop3Spec makes the spec of the POP3 source sources[i].
func pop3Spec(ctx context.Context, s *Source, i int, log *slog.Logger) (migrate.SourceSpec, error) {
	var none migrate.SourceSpec
	srv, err := s.Parse("pop3")
	if err != nil {
		return none, err
	}
	pass, err := s.password(ctx, srv)
	if err != nil {
		return none, err
	}
	tc, err := s.tlsConfig(srv)
	if err != nil {
		return none, err
	}
	s.warnSkipVerify(log, "source", srv)
	mode := pop3.TLSStartTLS
	switch {
	case srv.Plain:
		mode = pop3.TLSNone
	case srv.Implicit:
		mode = pop3.TLSImplicit
	}
	tokens, err := s.tokenSource()
	if err != nil {
		return none, err
	}
	opts := pop3.Options{Addr: srv.Addr, TLS: mode, TLSConfig: tc, Username: srv.User, Password: pass,
		AdminUser: s.AdminUser, MasterSeparator: s.MasterSeparator, Timeout: s.Timeout, AllowNoUIDL: s.AllowNoUIDL,
		OAuth: tokens, OAuthMech: s.Auth}
	folder := s.Folder
	if folder == "" {
		folder = "INBOX"
	}
	del, err := ParseDelete(s.Delete)
	if err != nil {
		return none, configErrorf("sources[%d].delete: %v", i, err)
	}
	return migrate.SourceSpec{Name: srv.Name(), Folder: folder, Delete: del,
		Open: func(ctx context.Context) (source.Source, error) {
			src, err := pop3.Dial(ctx, opts)
			if errors.Is(err, mailnet.ErrTLS) {
				// A certificate or scheme error: name the source as the
				// target's are named.
				return nil, &migrate.ConnectError{What: "source " + srv.Name(), Err: err}
			}
			if err != nil {
				return nil, err
			}
			return src, nil
		}}, nil
}

// archiveSpec makes the spec of an archive source. The path is made
// absolute so that the state knows the archive wherever mailferry runs.
func archiveSpec(s *Source, kind, p string, log *slog.Logger) (migrate.SourceSpec, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return migrate.SourceSpec{}, configErrorf("%s:%s: %v", kind, p, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return migrate.SourceSpec{}, configErrorf("%s:%s: %v", kind, p, err)
	}
	folder := s.Folder
	if folder == "" && !fi.IsDir() {
		// One file: its name is the folder, unless the config says.
		folder = strings.TrimSuffix(fi.Name(), filepath.Ext(fi.Name()))
	}
	warn := func(path string, err error) { log.Warn("archive", "source", kind+":"+abs, "path", path, "note", err) }
	opts := source.ArchiveOptions{Path: abs, IncludeDeleted: s.IncludeDeleted, MergeAccounts: s.MergeAccounts, Warn: warn}
	open := func(context.Context) (source.Source, error) {
		src, err := source.OpenArchive(kind, opts)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("%s:%s: %w", kind, p, err)}
		}
		return src, nil
	}
	// Open it once now: an archive that cannot be read as its kind (a file
	// that is not an mbox, a profile without prefs.js) stops the job
	// before anything is copied, not when the run reaches it.
	src, err := open(context.Background())
	if err != nil {
		return migrate.SourceSpec{}, err
	}
	src.Close()
	return migrate.SourceSpec{Name: kind + ":" + abs, Folder: folder, FolderMap: s.FolderMap,
		Include: s.Include, Exclude: s.Exclude, Open: open, Archive: true}, nil
}

// tokenSource returns the server's OAuth2 token source, nil when it logs
// in with a password.
func (e *Server) tokenSource() (*oauth2.Source, error) {
	src, err := oauth2.New(oauth2.Config{Command: e.OAuth2TokenCommand, File: e.OAuth2TokenFile})
	if err != nil {
		return nil, configErrorf("%v", err)
	}
	return src, nil
}
