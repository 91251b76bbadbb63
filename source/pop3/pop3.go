package pop3

import (
	"github.com/mailferry/mailferry/internal/oauth2"

	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/source"
)

// TLSMode says how the connection is protected; it is mailnet.TLSMode,
// one type for sources and targets, and prints as "implicit", "starttls"
// or "none".
type TLSMode = mailnet.TLSMode

const (
	// TLSImplicit starts TLS before the greeting (pop3s, port 995).
	TLSImplicit = mailnet.TLSImplicit
	// TLSStartTLS upgrades a plaintext connection with STLS (port 110).
	// A server that does not announce STLS is refused.
	TLSStartTLS = mailnet.TLSStartTLS
	// TLSNone sends everything, the password included, in clear text.
	TLSNone = mailnet.TLSNone
)

const (
	defaultTimeout  = 60 * time.Second
	defaultPipeline = 64
	// maxPipeline bounds the commands written ahead: their bytes must fit
	// in the socket buffers, or client and server could both block
	// writing.
	maxPipeline = 1024
	bufSize     = 64 << 10
)

// Options configure a session. The zero value of each field is a usable
// default except Addr and the credentials.
type Options struct {
	// Addr is host:port.
	Addr string
	// TLS is the protection; the zero value is TLSImplicit.
	TLS TLSMode
	// TLSConfig is cloned; the caller sets ServerName, RootCAs or
	// InsecureSkipVerify. nil means default verification against the host
	// part of Addr.
	TLSConfig *tls.Config
	// Username and Password are the credentials. The password never
	// appears in an error.
	Username, Password string
	// AdminUser, when set, logs in as this admin on Username's maildrop
	// (Dovecot master users, Cyrus admins): Password is then the admin's.
	// With MasterSeparator empty, by AUTH PLAIN with Username as the
	// authorization identity (the server must offer SASL PLAIN); else as
	// the user Username+MasterSeparator+AdminUser (Dovecot's "user*admin").
	AdminUser       string
	MasterSeparator string
	// OAuth, when set, logs in with AUTH XOAUTH2 or OAUTHBEARER and a
	// token from it instead of Password; OAuthMech picks the mechanism
	// ("xoauth2", "oauthbearer"; "" or "auto": OAUTHBEARER when CAPA
	// lists it, else XOAUTH2). A refused token is obtained again (once
	// for all sessions sharing OAuth) and the login retried once.
	OAuth     *oauth2.Source
	OAuthMech string
	// Timeout bounds every read and write on the connection; while a
	// message streams, each successful read starts it again, so it is an
	// idle timeout there. 0 means 60s.
	Timeout time.Duration
	// AllowNoUIDL accepts a server without UIDL: List then retrieves
	// every message and names it "sha256:" + the hex SHA-256 of its bytes.
	// Without it such a server is an error.
	AllowNoUIDL bool
	// Pipeline is the number of RETR commands in flight when the server
	// announces PIPELINING. 0 means 64; 1 disables pipelining; values above
	// 1024 are lowered to 1024.
	Pipeline int
	// Dialer opens the TCP connection; nil means a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

	// noUTF8 keeps the session out of UTF-8 mode even when the server
	// announces UTF8: for tests of what a server serves then.
	noUTF8 bool
}

// Source is one POP3 session on one maildrop. It is not safe for
// concurrent use: calls must follow one another, and a reader from Open
// must be closed before the next call.
type Source struct {
	opts   Options
	raw    net.Conn // the transport; closing it unblocks any I/O
	conn   net.Conn // raw with deadlines, possibly under TLS
	r      *bufio.Reader
	w      *bufio.Writer
	caps   []string
	nums   map[string]int // UIDL -> message number, from the last listing
	broken error          // set once the session is out of sync or closed
	busy   bool           // a reader from Open is not closed yet
	utf8On bool           // the server accepted UTF8 (RFC 6856)
	// utf8Refused is the server's -ERR to UTF8, nil if it accepted it or
	// was not asked.
	utf8Refused error
}

var (
	_ source.Source  = (*Source)(nil)
	_ source.Batcher = (*Source)(nil)
)

// errClosed is the broken state of a session closed by its owner.
var errClosed = errors.New("pop3: session closed")

// Dial connects, reads the greeting, asks CAPA, sets up TLS and
// authenticates. Its errors wrap source.ErrAuth when the credentials are
// refused and are source.TemporaryError for network errors and [IN-USE]
// or [SYS/TEMP] replies. A certificate that does not verify or is not the
// pinned one (*mailnet.CertError), the wrong TLS mode for the port
// (*mailnet.SchemeError: a server silent for a few seconds on a plain
// connection that then completes a TLS handshake, or one answering in
// plain text to TLSImplicit), a server without STLS in TLSStartTLS mode
// and a plaintext injection are permanent errors; the first two are
// marked mailnet.ErrTLS. If ctx ends, Dial returns ctx.Err().
func Dial(ctx context.Context, opts Options) (*Source, error) {
	opts.applyDefaults()
	raw, err := opts.dial(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, source.Temporary(fmt.Errorf("pop3 dial %s: %w", opts.Addr, err))
	}
	s := &Source{opts: opts, raw: raw}
	stop := s.watch(ctx)
	err = s.open(ctx)
	err = s.finish(ctx, stop, err)
	if err != nil {
		s.raw.Close()
		return nil, err
	}
	return s, nil
}

// applyDefaults fills the zero fields with their documented defaults.
func (o *Options) applyDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Pipeline <= 0 {
		o.Pipeline = defaultPipeline
	}
	o.Pipeline = min(o.Pipeline, maxPipeline)
	if o.Dialer == nil {
		d := &net.Dialer{Timeout: o.Timeout}
		o.Dialer = d.DialContext
	}
}

func (o *Options) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return o.Dialer(ctx, "tcp", o.Addr)
}

// open runs the session from the greeting to the authenticated state.
func (s *Source) open(ctx context.Context) error {
	s.setConn(&deadlineConn{Conn: s.raw, timeout: s.opts.Timeout})
	if s.opts.TLS == TLSImplicit {
		if err := s.handshake(ctx); err != nil {
			return err
		}
	}
	if err := s.greeting(ctx); err != nil {
		return err
	}
	if err := s.capa(); err != nil {
		return err
	}
	if s.opts.TLS == TLSStartTLS {
		if err := s.startTLS(ctx); err != nil {
			return err
		}
	}
	if err := s.utf8(); err != nil {
		return err
	}
	if err := s.auth(ctx); err != nil {
		return err
	}
	// RFC 2449: capabilities may change once authenticated.
	return s.capa()
}

// greeting reads the server's greeting. On a plain-text connection a
// server silent for a few seconds is probed for TLS: a pop3:// URL for a
// pop3s:// port fails then at once, with a *mailnet.SchemeError, instead
// of waiting for the timeout.
func (s *Source) greeting(ctx context.Context) error {
	var w *mailnet.GreetingWatch
	if s.opts.TLS != TLSImplicit {
		w = mailnet.WatchGreeting(ctx, s.opts.Dialer, s.opts.Addr, s.opts.Timeout, func() { s.raw.Close() })
	}
	_, err := s.readStatus()
	if w != nil && w.Stop() {
		err = &mailnet.SchemeError{Addr: s.opts.Addr, Proto: "pop3", TLS: true}
		s.breakSession(err)
		return err
	}
	if err != nil {
		return fmt.Errorf("pop3 greeting: %w", err)
	}
	return nil
}

// utf8 turns on UTF-8 mode (RFC 6856) when the server announces UTF8: a
// server in that mode serves messages with raw UTF-8 headers as they are
// stored, where otherwise it may serve a substitute it makes up (Courier:
// "Cannot display Unicode content", the original attached). The command
// is valid only before authentication. A server that refuses it is used
// as it is; UTF8Enabled says what happened, and a substitute it then
// serves fails its message (see substituteGuard).
func (s *Source) utf8() error {
	if !s.hasCap("UTF8") || s.opts.noUTF8 {
		return nil
	}
	if err := s.cmd("UTF8"); err != nil {
		return fmt.Errorf("pop3 utf8: %w", err)
	}
	if _, err := s.readStatus(); err != nil {
		var se *ServerError
		if errors.As(err, &se) && !se.Temporary() {
			s.utf8Refused = err
			return nil
		}
		return fmt.Errorf("pop3 utf8: %w", err)
	}
	s.utf8On = true
	return nil
}

// UTF8Enabled reports whether the server accepted the UTF8 command (RFC
// 6856) at the start of the session.
func (s *Source) UTF8Enabled() bool {
	return s.utf8On
}

// setConn makes c the connection that commands and replies go through.
func (s *Source) setConn(c net.Conn) {
	s.conn = c
	s.r = bufio.NewReaderSize(c, bufSize)
	s.w = bufio.NewWriterSize(c, 4096)
}

// tlsConfig returns the caller's config, cloned, with ServerName set from
// Addr when empty.
func (s *Source) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if s.opts.TLSConfig != nil {
		cfg = s.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(s.opts.Addr)
		if err != nil {
			host = s.opts.Addr
		}
		cfg.ServerName = host
	}
	return cfg
}

// handshake starts TLS on the current connection.
func (s *Source) handshake(ctx context.Context) error {
	tc := tls.Client(s.conn, s.tlsConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		return s.tlsError(err)
	}
	s.setConn(tc)
	return nil
}

// tlsError classifies a handshake failure: a certificate that does not
// verify or is not the pinned one (*mailnet.CertError) and a plain-text
// server under pop3s:// (*mailnet.SchemeError) are permanent, a network
// failure temporary.
func (s *Source) tlsError(err error) error {
	var ne net.Error
	if e := mailnet.ExplainHandshake(err, mailnet.RoleSource, "pop3", s.opts.Addr, s.opts.TLS == TLSImplicit); e != nil {
		return e
	}
	switch {
	case errors.As(err, &ne), errors.Is(err, net.ErrClosed):
		return source.Temporary(fmt.Errorf("pop3 tls: %w", err))
	}
	return fmt.Errorf("pop3 tls: %w", err)
}

// startTLS upgrades the connection with STLS, then asks CAPA again.
func (s *Source) startTLS(ctx context.Context) error {
	if !s.hasCap("STLS") {
		return errors.New("pop3 stls: server does not offer STLS; set tls to implicit or none")
	}
	if err := s.cmd("STLS"); err != nil {
		return fmt.Errorf("pop3 stls: %w", err)
	}
	if _, err := s.readStatus(); err != nil {
		return fmt.Errorf("pop3 stls: %w", err)
	}
	if n := s.r.Buffered(); n > 0 {
		return fmt.Errorf("pop3 stls: server sent %d bytes after +OK before the TLS handshake (plaintext injection); refusing", n)
	}
	if err := s.handshake(ctx); err != nil {
		return err
	}
	s.caps = nil
	return s.capa()
}

// Capabilities returns the CAPA lines the server announced last (after
// TLS and authentication), as sent; nil if the server has no CAPA.
func (s *Source) Capabilities() []string {
	return append([]string(nil), s.caps...)
}

// Close sends QUIT, which leaves the maildrop as it was (only Delete sends
// DELE, and it ends the session itself), and closes the connection. It returns nil if
// the session was already broken; calling it again is harmless.
func (s *Source) Close() error {
	if s.broken != nil {
		s.raw.Close()
		return nil
	}
	s.broken = errClosed
	defer s.raw.Close()
	if s.busy {
		return nil // a reader is open: the stream is mid-message
	}
	return s.quit()
}

// watch closes the transport when ctx ends, so that a blocked read or
// write returns at once. The caller passes the returned stop to finish.
func (s *Source) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { s.raw.Close() })
}

// finish ends an operation started with watch: if ctx ended, the
// connection is gone, the session is broken and the error is ctx.Err().
func (s *Source) finish(ctx context.Context, stop func() bool, err error) error {
	if stop() {
		return err
	}
	s.breakSession(ctx.Err())
	return ctx.Err()
}

// begin checks that the session can take a new command.
func (s *Source) begin() error {
	if s.broken == errClosed {
		return errClosed
	}
	if s.broken != nil {
		return fmt.Errorf("pop3: session unusable after an earlier error: %w", s.broken)
	}
	if s.busy {
		return errors.New("pop3: the reader of the previous Open is not closed")
	}
	return nil
}

// breakSession marks the session out of sync and closes the transport.
// The first cause is kept.
func (s *Source) breakSession(err error) {
	if s.broken == nil {
		s.broken = err
	}
	s.raw.Close()
}

// hasCap reports whether the server announced the capability name.
func (s *Source) hasCap(name string) bool {
	for _, c := range s.caps {
		f := strings.Fields(c)
		if len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// saslMech reports whether the SASL capability lists mech.
func (s *Source) saslMech(mech string) bool {
	for _, c := range s.caps {
		f := strings.Fields(c)
		if len(f) == 0 || !strings.EqualFold(f[0], "SASL") {
			continue
		}
		for _, m := range f[1:] {
			if strings.EqualFold(m, mech) {
				return true
			}
		}
	}
	return false
}
