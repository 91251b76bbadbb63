package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap"
)

// testHookJob, when set (only by this package's tests, in a child process
// they start), may wrap the migrator's target, state and sources, for
// example to kill the process at exact instants.
var testHookJob func(*migrate.Migrator)

// job is a configured run: the migrator with its connections open.
type job struct {
	m      *migrate.Migrator
	target *imap.Target
	store  *state.Store // nil in a dry run without a state file
	names  []string
}

func (j *job) Close() error {
	var errs []error
	if j.target != nil {
		errs = append(errs, j.target.Close())
	}
	if j.store != nil {
		errs = append(errs, j.store.Close())
	}
	return errors.Join(errs...)
}

// buildJob opens the state (taking its lock), resolves passwords and
// connects to the target; sources connect when the run reaches them.
func buildJob(ctx context.Context, c *Config, dryRun bool, log *slog.Logger) (*job, error) {
	j := &job{}
	ok := false
	defer func() {
		if !ok {
			j.Close()
		}
	}()
	store, err := state.Open(c.State, state.Options{LockTimeout: c.LockTimeout, ReadOnly: dryRun})
	switch {
	case dryRun && errors.Is(err, fs.ErrNotExist):
		// Nothing done yet: a dry run sees an empty state.
	case err != nil:
		return nil, fmt.Errorf("state %s: %w", c.State, err)
	default:
		j.store = store
	}
	specs, err := sourceSpecs(ctx, c, log)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		j.names = append(j.names, s.Name)
	}
	tgt, err := openTarget(ctx, &c.Target, log)
	if err != nil {
		return nil, err
	}
	j.target = tgt
	j.m = &migrate.Migrator{
		Target:  tgt,
		State:   storeFor(j.store, dryRun),
		Sources: specs,
		Options: migrate.Options{Dedup: migrate.Dedup(c.Dedup), DryRun: dryRun,
			Uploaders: tgt.MaxInFlight(), Settle: c.Settle, Logger: log},
	}
	if testHookJob != nil {
		testHookJob(j.m)
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

func openTarget(ctx context.Context, e *Endpoint, log *slog.Logger) (*imap.Target, error) {
	srv, err := e.parse("imap")
	if err != nil {
		return nil, err
	}
	pass, err := e.password(ctx, "target", "MAILFERRY_TARGET_PASSWORD", srv)
	if err != nil {
		return nil, err
	}
	tc, err := e.tlsConfig(srv)
	if err != nil {
		return nil, err
	}
	mode := imap.TLSStartTLS
	switch {
	case srv.Plain:
		mode = imap.TLSNone
	case srv.Implicit:
		mode = imap.TLSImplicit
	}
	t, err := imap.New(ctx, imap.Options{Addr: srv.Addr, TLS: mode, TLSConfig: tc, Username: srv.User,
		Password: pass, Connections: e.Connections, Timeout: e.Timeout, Logger: log})
	if err != nil {
		return nil, &migrate.ConnectError{What: "target " + srv.Name(), Err: err}
	}
	return t, nil
}

// sourceSpecs makes the specs of the configured sources, archives first:
// with dedup by account, a message the user filed in an archive folder and
// that the POP3 server still holds lands once, in the user's folder.
func sourceSpecs(ctx context.Context, c *Config, log *slog.Logger) ([]migrate.SourceSpec, error) {
	var archives, servers []migrate.SourceSpec
	for i := range c.Sources {
		s := &c.Sources[i]
		if kind, p, ok := archiveURL(s.URL); ok {
			spec, err := archiveSpec(s, kind, p, log)
			if err != nil {
				return nil, err
			}
			archives = append(archives, spec)
			continue
		}
		spec, err := pop3Spec(ctx, s, i)
		if err != nil {
			return nil, err
		}
		servers = append(servers, spec)
	}
	return append(archives, servers...), nil
}

// pop3Spec makes the spec of the POP3 source sources[i].
func pop3Spec(ctx context.Context, s *SourceEndpoint, i int) (migrate.SourceSpec, error) {
	var none migrate.SourceSpec
	srv, err := s.parse("pop3")
	if err != nil {
		return none, err
	}
	pass, err := s.password(ctx, fmt.Sprintf("sources[%d]", i), "MAILFERRY_SOURCE_PASSWORD", srv)
	if err != nil {
		return none, err
	}
	tc, err := s.tlsConfig(srv)
	if err != nil {
		return none, err
	}
	mode := pop3.TLSStartTLS
	switch {
	case srv.Plain:
		mode = pop3.TLSNone
	case srv.Implicit:
		mode = pop3.TLSImplicit
	}
	opts := pop3.Options{Addr: srv.Addr, TLS: mode, TLSConfig: tc, Username: srv.User, Password: pass,
		Timeout: s.Timeout, AllowNoUIDL: s.AllowNoUIDL}
	folder := s.Folder
	if folder == "" {
		folder = "INBOX"
	}
	del, err := parseDelete(s.Delete)
	if err != nil {
		return none, configErrorf("sources[%d].delete: %v", i, err)
	}
	return migrate.SourceSpec{Name: srv.Name(), Folder: folder, Delete: del,
		Open: func(ctx context.Context) (source.Source, error) { return pop3.Dial(ctx, opts) }}, nil
}
