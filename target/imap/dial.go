package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/target/imap/internal/session"
)

// sessionConfig is what the one dial path (package session) needs of
// Options.
func (t *Target) sessionConfig() session.Config {
	o := &t.opts
	return session.Config{Addr: o.Addr, TLS: o.TLS, TLSConfig: o.TLSConfig, Username: o.Username,
		Password: o.Password, AdminUser: o.AdminUser, MasterSeparator: o.MasterSeparator, OAuth: o.OAuth, OAuthMech: o.OAuthMech, Timeout: o.Timeout, Dialer: o.Dialer}
}

// dial opens, protects and authenticates one connection through package
// session, all within Options.Timeout, and hands it to go-imap. Errors:
// ctx.Err() when ctx ends; a TLS verification error as crypto/tls returns
// it (wrapped); target.ErrAuth (wrapped) when the server refuses the
// credentials; target.Temporary for network failures and timeouts.
func (t *Target) dial(ctx context.Context) (*conn, error) {
	id := t.nextID.Add(1)
	s, err := session.Dial(ctx, t.sessionConfig())
	if err != nil {
		t.opts.Logger.Debug("imap dial failed", "conn", id, "addr", t.opts.Addr, "err", err)
		return nil, err
	}
	client := imapclient.New(s.Handover(), nil)
	caps := client.Caps() // from the PREAUTH greeting Handover makes
	if caps == nil {
		_ = client.Close()
		err := fmt.Errorf("connect to %s: %w", t.opts.Addr, temporary(errors.New("no CAPABILITY after login")))
		t.opts.Logger.Debug("imap dial failed", "conn", id, "addr", t.opts.Addr, "err", err)
		return nil, err
	}
	t.opts.Logger.Debug("imap connected", "conn", id, "addr", t.opts.Addr)
	c := &conn{client: client, id: id, read: s.Read, caps: caps}
	if tc, ok := s.Conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tls = &st
	}
	return c, nil
}
