package session

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/internal/oauth2"
	"github.com/mailferry/mailferry/target/imap/internal/wire"
)

// Config says where and how to connect; the fields are those of
// imap.Options.
type Config struct {
	Addr      string
	TLS       mailnet.TLSMode
	TLSConfig *tls.Config // cloned for each connection; nil: system roots
	Username  string
	Password  string
	// AdminUser, when set, logs in as this admin on Username's mailbox
	// (Dovecot master users, Cyrus admins); Password is the admin's. With
	// MasterSeparator empty, by AUTHENTICATE PLAIN with Username as the
	// authorization identity (the server must offer AUTH=PLAIN); else as
	// the user Username+MasterSeparator+AdminUser (Dovecot's "user*admin").
	AdminUser       string
	MasterSeparator string
	// OAuth, when set, logs in with an OAuth2 access token from it
	// (Password unused), by OAuthMech ("xoauth2", "oauthbearer", or ""
	// for what the server announces, OAUTHBEARER first). A token the
	// server refuses is obtained again (once for all connections refused
	// it at the same time) and the login tried once more.
	OAuth     *oauth2.Source
	OAuthMech string
	// Timeout bounds the whole dial: TCP, TLS, greeting and login.
	Timeout time.Duration
	Dialer  func(ctx context.Context, network, addr string) (net.Conn, error)
}

// tlsFor returns the TLS configuration for one connection to host.
func (c *Config) tlsFor(host string) *tls.Config {
	var cfg *tls.Config
	if c.TLSConfig != nil {
		cfg = c.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// A Session is one connection, protected and authenticated. Its owner
// reads and writes the wire through R and W, or hands it to go-imap.
type Session struct {
	Conn net.Conn // TLS over the metered TCP connection, or that alone
	R    *bufio.Reader
	W    *bufio.Writer
	// Caps are the capabilities announced after login, as sent but in
	// upper case.
	Caps imap.CapSet
	// Read counts the octets received and LastRead is when some last
	// arrived (Unix nanoseconds): the watchdogs' evidence of progress.
	Read     *atomic.Uint64
	LastRead *atomic.Int64
}

// Dial opens, protects and authenticates one connection, all within
// cfg.Timeout. Errors (wrapped with "connect to Addr" unless they name it
// already): ctx.Err() when ctx ends; a *mailnet.CertError (wrapping the
// TLS verification error as crypto/tls returns it, or a
// *mailnet.PinError) and a *mailnet.SchemeError (imap:// on a port that
// speaks TLS at once, or imaps:// on one that answers in plain text),
// both permanent and marked mailnet.ErrTLS; a STARTTLS
// refused or followed by injected data, permanent; mailnet.ErrAuth when
// the server refuses the credentials; mailnet.Temporary for network
// failures, timeouts, a BYE greeting and [UNAVAILABLE] logins.
func Dial(ctx context.Context, cfg Config) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var raw lateCloser
	w := StartWatchdog(ctx, cfg.Timeout, nil, raw.close)
	s, err := open(dctx, &cfg, raw.set)
	if err == nil {
		err = s.login(dctx, &cfg)
	}
	reason := w.Stop()
	if err == nil && reason != FiredNone {
		err = errors.New("connection closed by the watchdog")
	}
	if err != nil {
		if s != nil {
			_ = s.Conn.Close()
		}
		err = Explain(ctx, reason, cfg.Timeout, err)
		if errors.Is(err, mailnet.ErrTLS) {
			return nil, err // it names the server already
		}
		return nil, fmt.Errorf("connect to %s: %w", cfg.Addr, err)
	}
	return s, nil
}

// open dials cfg.Addr, sets up TLS as cfg.TLS says and reads the
// greeting and the capabilities. setRaw receives the TCP connection as
// soon as it exists, so that the caller's watchdog can close it.
func open(ctx context.Context, cfg *Config, setRaw func(net.Conn)) (*Session, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, err
	}
	nc, err := cfg.Dialer(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, Temporary(err)
	}
	setRaw(nc)
	mc := meteredConn{Conn: nc, read: new(atomic.Uint64), last: new(atomic.Int64)}
	s := &Session{Read: mc.read, LastRead: mc.last}
	s.use(mc)
	switch cfg.TLS {
	case mailnet.TLSImplicit:
		if err = s.handshake(ctx, cfg.tlsFor(host)); err == nil {
			err = s.greet(false)
		}
		err = explainTLS(err, cfg.Addr, true)
	case mailnet.TLSStartTLS:
		if err = s.greetPlain(ctx, cfg, nc, true); err == nil {
			err = s.startTLS(ctx, cfg.tlsFor(host))
		}
		err = explainTLS(err, cfg.Addr, false)
	case mailnet.TLSNone:
		err = s.greetPlain(ctx, cfg, nc, false)
	default:
		err = fmt.Errorf("unknown TLS mode %d", cfg.TLS)
	}
	if err == nil && s.Caps == nil {
		_, err = s.Command("C", "CAPABILITY", nil)
	}
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	return s, nil
}

// use makes c the session's connection, with new buffers.
func (s *Session) use(c net.Conn) {
	s.Conn = c
	s.R = bufio.NewReaderSize(c, 16<<10)
	s.W = bufio.NewWriterSize(c, 64<<10)
}

// handshake runs a TLS handshake over the session's connection.
func (s *Session) handshake(ctx context.Context, cfg *tls.Config) error {
	tc := tls.Client(s.Conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return classifyTLS(err)
	}
	s.use(tc)
	s.Caps = nil // to be read again over TLS
	return nil
}

// startTLS upgrades the session; a refusal is permanent (no clear-text
// fallback), and so is anything the server sent after its OK: octets an
// attacker injected in clear text would be read as if sent over TLS.
func (s *Session) startTLS(ctx context.Context, cfg *tls.Config) error {
	if _, err := s.Command("S", "STARTTLS", nil); err != nil {
		return fmt.Errorf("starttls: %w", classifyTLS(err))
	}
	if s.R.Buffered() > 0 {
		return errors.New("starttls: data after the server's OK")
	}
	if err := s.handshake(ctx, cfg); err != nil {
		return fmt.Errorf("starttls: %w", err)
	}
	return nil
}

// greetPlain reads the greeting on a plain-text connection. A server
// silent for a few seconds is probed for TLS: an imap:// URL for an
// imaps:// port fails then at once, with a *mailnet.SchemeError, instead
// of waiting for the timeout.
func (s *Session) greetPlain(ctx context.Context, cfg *Config, nc net.Conn, beforeTLS bool) error {
	w := mailnet.WatchGreeting(ctx, cfg.Dialer, cfg.Addr, cfg.Timeout, func() { _ = nc.Close() })
	err := s.greet(beforeTLS)
	if w.Stop() {
		return &mailnet.SchemeError{Addr: cfg.Addr, Proto: "imap", TLS: true}
	}
	return err
}

// explainTLS makes a certificate error a *mailnet.CertError and, when
// implicit, a plain-text answer to the handshake a *mailnet.SchemeError;
// other errors stay as they are.
func explainTLS(err error, addr string, implicit bool) error {
	if err == nil {
		return nil
	}
	if e := mailnet.ExplainHandshake(err, mailnet.RoleTarget, "imap", addr, implicit); e != nil {
		return e
	}
	return err
}

// greet reads the greeting, noting its capabilities; BYE is temporary,
// and so is PREAUTH before STARTTLS (RFC 3501 7.1.4: the server would
// skip the upgrade).
func (s *Session) greet(beforeTLS bool) error {
	line, err := wire.ReadResponse(s.R)
	if err != nil {
		return Temporary(fmt.Errorf("greeting: %w", err))
	}
	st := wire.ParseStatus(line)
	if st.Tag != "*" || (st.Kind != "OK" && st.Kind != "PREAUTH") {
		return Temporary(fmt.Errorf("greeting: %q", line))
	}
	if st.Kind == "PREAUTH" && beforeTLS {
		return Temporary(errors.New("starttls: server sent PREAUTH on an unencrypted connection"))
	}
	if st.Code == "CAPABILITY" {
		s.Caps = wire.CapsOf(st.Args)
	}
	return nil
}

// Command sends "tag line" and reads until the tagged answer, noting
// CAPABILITY data; a continuation request gets cont's line (nil: none).
// A NO or BAD is an *imap.Error; failures to talk are temporary.
func (s *Session) Command(tag, line string, cont func() string) (wire.Status, error) {
	if _, err := s.W.WriteString(tag + " " + line + "\r\n"); err != nil {
		return wire.Status{}, Temporary(err)
	}
	if err := s.W.Flush(); err != nil {
		return wire.Status{}, Temporary(err)
	}
	for {
		resp, err := wire.ReadResponse(s.R)
		if err != nil {
			return wire.Status{}, Temporary(err)
		}
		switch st := wire.ParseStatus(resp); {
		case strings.HasPrefix(resp, "+") && cont != nil:
			s.W.WriteString(cont() + "\r\n")
			if err := s.W.Flush(); err != nil {
				return wire.Status{}, Temporary(err)
			}
		case st.Tag == "*" && st.Kind == "CAPABILITY":
			s.Caps = wire.CapsOf(strings.TrimPrefix(resp, "* CAPABILITY "))
		case st.Tag == "*" && st.Kind == "BYE":
			return wire.Status{}, Temporary(fmt.Errorf("BYE: %s", st.Text))
		case st.Tag == tag:
			if st.Code == "CAPABILITY" {
				s.Caps = wire.CapsOf(st.Args)
			}
			return st, st.Err()
		}
	}
}

// identities returns the authorization identity (the user acted as, ""
// for oneself) and the authentication identity a login sends.
func (c *Config) identities() (authz, authc string) {
	switch {
	case c.AdminUser == "":
		return "", c.Username
	case c.MasterSeparator != "":
		return "", c.Username + c.MasterSeparator + c.AdminUser
	default:
		return c.Username, c.AdminUser
	}
}

// login authenticates with AUTHENTICATE PLAIN (with SASL-IR when
// announced) when the server announces AUTH=PLAIN, else with LOGIN; then
// it has the capabilities of the authenticated state. An admin login
// with an authorization identity needs AUTH=PLAIN. See loginError for
// the errors.
func (s *Session) login(ctx context.Context, cfg *Config) error {
	if cfg.OAuth != nil {
		return s.loginOAuth(ctx, cfg)
	}
	authz, user := cfg.identities()
	pass := cfg.Password
	caps := s.Caps
	s.Caps = nil // the answer's CAPABILITY, if any, replaces them
	var err error
	switch {
	case caps.Has(imap.AuthCap(sasl.Plain)):
		ir := base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
		if caps.Has(imap.CapSASLIR) {
			_, err = s.Command("L", "AUTHENTICATE PLAIN "+ir, func() string { return "*" })
		} else {
			_, err = s.Command("L", "AUTHENTICATE PLAIN", func() string { return ir })
		}
	case authz != "":
		return fmt.Errorf("admin %q logging in as user %q: %w: the server does not offer AUTH=PLAIN, needed to act as another user (set master_separator for Dovecot's user*master form)",
			cfg.AdminUser, authz, mailnet.ErrAuth)
	case caps.Has(imap.CapLoginDisabled):
		return fmt.Errorf("login as %q: %w: server offers neither LOGIN nor AUTH=PLAIN", user, mailnet.ErrAuth)
	default:
		parts := stringArgs("LOGIN", user, pass)
		_, err = s.Command("L", parts[0], func() string {
			if len(parts) > 1 {
				parts = parts[1:]
			}
			return parts[0]
		})
	}
	if err != nil {
		return loginError(err, cfg)
	}
	return s.capsAfterLogin()
}

// capsAfterLogin makes sure the session has the authenticated state's
// capabilities.
func (s *Session) capsAfterLogin() error {
	var err error
	if s.Caps == nil {
		_, err = s.Command("C", "CAPABILITY", nil)
	}
	if err == nil && s.Caps == nil {
		err = Temporary(errors.New("no CAPABILITY after login"))
	}
	return err
}

// stringArgs encodes a command with string arguments, each quoted when it
// can be and a synchronizing literal otherwise: the parts to send, the
// first as the command line, each other after a continuation request.
func stringArgs(cmd string, args ...string) []string {
	parts := []string{cmd}
	for _, a := range args {
		last := &parts[len(parts)-1]
		if wire.Quotable(a) {
			*last += " " + wire.Quote(a)
			continue
		}
		*last += " {" + strconv.Itoa(len(a)) + "}"
		parts = append(parts, a)
	}
	return parts
}

// Handover returns the session's connection for go-imap, which reads
// first a PREAUTH greeting (RFC 3501 7.1.4: already authenticated) that
// carries the capabilities, then what the session has read ahead. The
// session must not be used after.
func (s *Session) Handover() net.Conn {
	caps := make([]string, 0, len(s.Caps))
	for c := range s.Caps {
		caps = append(caps, string(c))
	}
	slices.Sort(caps)
	greeting := "* PREAUTH [CAPABILITY " + strings.Join(caps, " ") + "] authenticated\r\n"
	return handedConn{Conn: s.Conn, r: io.MultiReader(strings.NewReader(greeting), s.R)}
}

// A handedConn is a connection whose reads come from r.
type handedConn struct {
	net.Conn
	r io.Reader
}

func (c handedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
