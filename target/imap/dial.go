package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mailferry/mailferry/target"
)

// dial opens, protects and authenticates one connection, all within
// Options.Timeout. Errors: ctx.Err() when ctx ends; a TLS verification
// error as crypto/tls returns it (wrapped); target.ErrAuth (wrapped) when
// the server refuses the credentials; target.Temporary for network
// failures and timeouts.
func (t *Target) dial(ctx context.Context) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := t.nextID.Add(1)
	dctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	var raw lateCloser
	w := startWatchdog(ctx, t.opts.Timeout, nil, raw.close)
	read := new(atomic.Uint64)
	client, err := t.connect(dctx, read, raw.set)
	var caps imap.CapSet
	if err == nil {
		err = t.login(client)
	}
	if err == nil {
		if caps = client.Caps(); caps == nil {
			err = temporary(errors.New("no CAPABILITY after login"))
		}
	}
	reason := w.stop()
	if err == nil && reason != firedNone {
		err = errors.New("connection closed by the watchdog")
	}
	if err != nil {
		if client != nil {
			_ = client.Close()
		}
		err = explain(ctx, reason, t.opts.Timeout, err)
		t.opts.Logger.Debug("imap dial failed", "conn", id, "addr", t.opts.Addr, "err", err)
		return nil, fmt.Errorf("connect to %s: %w", t.opts.Addr, err)
	}
	t.opts.Logger.Debug("imap connected", "conn", id, "addr", t.opts.Addr)
	return &conn{client: client, id: id, read: read, caps: caps}, nil
}

// A lateCloser closes a connection that may not exist yet: one set after
// close is closed at once.
type lateCloser struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

func (l *lateCloser) set(c net.Conn) {
	l.mu.Lock()
	l.conn = c
	closed := l.closed
	l.mu.Unlock()
	if closed {
		_ = c.Close()
	}
}

func (l *lateCloser) close() {
	l.mu.Lock()
	l.closed = true
	c := l.conn
	l.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// connect dials Addr, sets up TLS as Options.TLS says and waits for the
// greeting. setRaw receives the TCP connection as soon as it exists, so
// that the caller's watchdog can close it.
func (t *Target) connect(ctx context.Context, read *atomic.Uint64, setRaw func(net.Conn)) (*imapclient.Client, error) {
	host, _, err := net.SplitHostPort(t.opts.Addr)
	if err != nil {
		return nil, err
	}
	raw, err := t.opts.Dialer(ctx, "tcp", t.opts.Addr)
	if err != nil {
		return nil, temporary(err)
	}
	setRaw(raw)
	raw = countingConn{Conn: raw, n: read}
	switch t.opts.TLS {
	case TLSImplicit:
		tc := tls.Client(raw, t.opts.tlsConfig(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, classifyTLS(err)
		}
		return greet(imapclient.New(tc, nil))
	case TLSStartTLS:
		client, err := imapclient.NewStartTLS(raw, &imapclient.Options{TLSConfig: t.opts.tlsConfig(host)})
		if err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("starttls: %w", classifyTLS(err))
		}
		return client, nil
	case TLSNone:
		return greet(imapclient.New(raw, nil))
	}
	_ = raw.Close()
	return nil, fmt.Errorf("unknown TLS mode %d", t.opts.TLS)
}

// greet waits for the server's greeting; a BYE greeting is temporary.
func greet(client *imapclient.Client) (*imapclient.Client, error) {
	if err := client.WaitGreeting(); err != nil {
		_ = client.Close()
		return nil, temporary(fmt.Errorf("greeting: %w", err))
	}
	return client, nil
}

// classifyTLS keeps certificate errors as they are (fatal for the job) and
// marks other handshake failures temporary. A server without STARTTLS
// answers NO or BAD, which stays permanent too: we never fall back to
// clear text.
func classifyTLS(err error) error {
	var verr *tls.CertificateVerificationError
	var alert tls.AlertError
	if errors.As(err, &verr) || errors.As(err, &alert) || asIMAP(err) != nil {
		return err
	}
	return temporary(err)
}

// login authenticates with AUTHENTICATE PLAIN when the server announces
// AUTH=PLAIN, else with LOGIN. A NO wraps target.ErrAuth, except
// [UNAVAILABLE], which is temporary (RFC 5530). The password never
// appears in the error.
func (t *Target) login(client *imapclient.Client) error {
	caps := client.Caps()
	var err error
	switch {
	case caps.Has(imap.AuthCap(sasl.Plain)):
		err = client.Authenticate(sasl.NewPlainClient("", t.opts.Username, t.opts.Password))
	case caps.Has(imap.CapLoginDisabled):
		return fmt.Errorf("login as %q: %w: server offers neither LOGIN nor AUTH=PLAIN", t.opts.Username, target.ErrAuth)
	default:
		err = client.Login(t.opts.Username, t.opts.Password).Wait()
	}
	if err == nil {
		return nil
	}
	imapErr := asIMAP(err)
	switch {
	case imapErr == nil:
		return temporary(fmt.Errorf("login as %q: %s", t.opts.Username, redactLogin(err.Error(), t.opts.Username, t.opts.Password)))
	case transientCodes[imapErr.Code]:
		return temporary(fmt.Errorf("login as %q: %s", t.opts.Username, redactLogin(err.Error(), t.opts.Username, t.opts.Password)))
	}
	return fmt.Errorf("login as %q: %w: %s", t.opts.Username, target.ErrAuth, redactLogin(err.Error(), t.opts.Username, t.opts.Password))
}
