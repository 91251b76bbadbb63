package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"github.com/mailferry/mailferry/target"
)

// A session is a connection opened and authenticated without go-imap, for
// the pipelined APPEND path: its owner reads and writes the wire itself.
type session struct {
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	caps imap.CapSet
	// lastRead is when octets last arrived, in Unix nanoseconds.
	lastRead *atomic.Int64
}

// dialRaw opens, protects and authenticates one raw connection as dial
// does for go-imap (same Dialer, TLS modes, certificate checks, login
// choice and error classes), all within Options.Timeout. It returns
// errUnsupported (wrapped) when it cannot log in without go-imap.
func (t *Target) dialRaw(ctx context.Context) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	var raw lateCloser
	w := startWatchdog(ctx, t.opts.Timeout, nil, raw.close)
	s, err := t.openRaw(dctx, raw.set)
	if err == nil {
		err = t.loginRaw(s)
	}
	reason := w.stop()
	if err == nil && reason != firedNone {
		err = errors.New("connection closed by the watchdog")
	}
	if err != nil {
		if s != nil {
			_ = s.nc.Close()
		}
		err = explain(ctx, reason, t.opts.Timeout, err)
		return nil, fmt.Errorf("connect to %s: %w", t.opts.Addr, err)
	}
	return s, nil
}

// openRaw dials Addr, sets up TLS as Options.TLS says and reads the
// greeting and the capabilities.
func (t *Target) openRaw(ctx context.Context, setRaw func(net.Conn)) (*session, error) {
	host, _, err := net.SplitHostPort(t.opts.Addr)
	if err != nil {
		return nil, err
	}
	nc, err := t.opts.Dialer(ctx, "tcp", t.opts.Addr)
	if err != nil {
		return nil, temporary(err)
	}
	setRaw(nc)
	tc := &timedConn{Conn: nc, last: new(atomic.Int64)}
	s := newSession(tc, tc.last)
	switch t.opts.TLS {
	case TLSImplicit:
		s, err = s.handshake(ctx, t.opts.tlsConfig(host))
	case TLSStartTLS:
		if err = s.greet(); err == nil {
			s, err = s.startTLS(ctx, t.opts.tlsConfig(host))
		}
	case TLSNone:
	default:
		err = fmt.Errorf("unknown TLS mode %d", t.opts.TLS)
	}
	if err == nil && t.opts.TLS != TLSStartTLS {
		err = s.greet()
	}
	if err == nil && s.caps == nil {
		_, err = s.command("C", "CAPABILITY", nil)
	}
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	return s, nil
}

func newSession(nc net.Conn, last *atomic.Int64) *session {
	return &session{nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 64<<10), lastRead: last}
}

// handshake runs a TLS handshake over s and returns the session on it.
func (s *session) handshake(ctx context.Context, cfg *tls.Config) (*session, error) {
	tc := tls.Client(s.nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, classifyTLS(err)
	}
	return newSession(tc, s.lastRead), nil
}

// startTLS upgrades s; a refusal is permanent (no clear-text fallback).
func (s *session) startTLS(ctx context.Context, cfg *tls.Config) (*session, error) {
	if _, err := s.command("S", "STARTTLS", nil); err != nil {
		return nil, fmt.Errorf("starttls: %w", classifyTLS(err))
	}
	if s.br.Buffered() > 0 {
		return nil, errors.New("starttls: data after the server's OK")
	}
	ts, err := s.handshake(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("starttls: %w", err)
	}
	return ts, nil
}

// greet reads the greeting; BYE is temporary.
func (s *session) greet() error {
	line, err := readResponse(s.br)
	if err != nil {
		return temporary(fmt.Errorf("greeting: %w", err))
	}
	st := parseStatus(line)
	if st.tag != "*" || (st.kind != "OK" && st.kind != "PREAUTH") {
		return temporary(fmt.Errorf("greeting: %q", line))
	}
	if st.code == "CAPABILITY" {
		s.caps = capsOf(st.args)
	}
	return nil
}

// command sends "tag line" and reads until the tagged answer, noting
// CAPABILITY data; a continuation request gets cont's line (nil: none).
// A NO or BAD is an *imap.Error; failures to talk are temporary.
func (s *session) command(tag, line string, cont func() string) (status, error) {
	if _, err := s.bw.WriteString(tag + " " + line + "\r\n"); err != nil {
		return status{}, temporary(err)
	}
	if err := s.bw.Flush(); err != nil {
		return status{}, temporary(err)
	}
	for {
		resp, err := readResponse(s.br)
		if err != nil {
			return status{}, temporary(err)
		}
		switch st := parseStatus(resp); {
		case strings.HasPrefix(resp, "+") && cont != nil:
			s.bw.WriteString(cont() + "\r\n")
			if err := s.bw.Flush(); err != nil {
				return status{}, temporary(err)
			}
		case st.tag == "*" && st.kind == "CAPABILITY":
			s.caps = capsOf(strings.TrimPrefix(resp, "* CAPABILITY "))
		case st.tag == "*" && st.kind == "BYE":
			return status{}, temporary(fmt.Errorf("BYE: %s", st.text))
		case st.tag == tag:
			if st.code == "CAPABILITY" {
				s.caps = capsOf(st.args)
			}
			return st, st.err()
		}
	}
}

// loginRaw authenticates as login does: AUTHENTICATE PLAIN (with SASL-IR
// when announced) or LOGIN; then reads the capabilities again.
func (t *Target) loginRaw(s *session) error {
	user, pass := t.opts.Username, t.opts.Password
	var err error
	switch {
	case s.caps.Has(imap.AuthCap(sasl.Plain)):
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		if s.caps.Has(imap.CapSASLIR) {
			_, err = s.command("L", "AUTHENTICATE PLAIN "+ir, func() string { return "*" })
		} else {
			_, err = s.command("L", "AUTHENTICATE PLAIN", func() string { return ir })
		}
	case s.caps.Has(imap.CapLoginDisabled):
		return fmt.Errorf("login as %q: %w: server offers neither LOGIN nor AUTH=PLAIN", user, target.ErrAuth)
	case !quotable(user) || !quotable(pass):
		return fmt.Errorf("login: %w", errUnsupported)
	default:
		_, err = s.command("L", "LOGIN "+quote(user)+" "+quote(pass), nil)
	}
	if err != nil {
		return t.loginError(err)
	}
	s.caps = nil // the OK's CAPABILITY code, if any, is read below
	_, err = s.command("C", "CAPABILITY", nil)
	return err
}

// loginError classifies a failed login as login does, without the
// password.
func (t *Target) loginError(err error) error {
	msg := fmt.Sprintf("login as %q: %s", t.opts.Username, redactLogin(err.Error(), t.opts.Username, t.opts.Password))
	imapErr := asIMAP(err)
	if imapErr == nil || transientCodes[imapErr.Code] {
		return temporary(errors.New(msg))
	}
	return fmt.Errorf("%w: %s", target.ErrAuth, msg)
}

// A timedConn records when octets last arrived, for the watchdog.
type timedConn struct {
	net.Conn
	last *atomic.Int64
}

func (c *timedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.last.Store(time.Now().UnixNano())
	}
	return n, err
}
