package imap

import (
	"github.com/mailferry/mailferry/internal/oauth2"

	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/target/imap/internal/session"
)

// TLSMode says how a connection is protected; it is mailnet.TLSMode,
// one type for sources and targets, and prints as "implicit", "starttls"
// or "none".
type TLSMode = mailnet.TLSMode

const (
	// TLSImplicit speaks TLS from the first byte (imaps, port 993).
	TLSImplicit = mailnet.TLSImplicit
	// TLSStartTLS connects in clear text (port 143) and upgrades with
	// STARTTLS before authenticating; a server that refuses STARTTLS is
	// an error, never a fallback to clear text.
	TLSStartTLS = mailnet.TLSStartTLS
	// TLSNone sends everything, the password included, in clear text.
	TLSNone = mailnet.TLSNone
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultConnections = 8
	DefaultTimeout     = 60 * time.Second
	DefaultPipeline    = 16
	// appendRate is the slowest upload rate the APPEND watchdog accepts:
	// an APPEND may take Timeout plus Size/appendRate.
	appendRate = 64 << 10 // octets per second
	// logoutTimeout bounds each LOGOUT in Close.
	logoutTimeout = 5 * time.Second
	// maxAttempts bounds connection attempts inside one call.
	maxAttempts = session.MaxAttempts
)

// Options configures a Target. Only Addr, Username and Password are
// required.
type Options struct {
	// Addr is host:port of the IMAP server.
	Addr string
	// TLS selects implicit TLS (the zero value), STARTTLS or none.
	TLS TLSMode
	// TLSConfig is cloned for each connection; the caller sets RootCAs or
	// InsecureSkipVerify there. nil verifies the server's certificate
	// against the system roots with ServerName taken from Addr.
	TLSConfig *tls.Config

	Username string
	// Password never appears in errors or logs.
	Password string
	// AdminUser, when set, logs in as this admin on Username's mailbox
	// (Dovecot master users, Cyrus admins); Password is then the admin's.
	// With MasterSeparator empty, by AUTHENTICATE PLAIN with Username as
	// the authorization identity (the server must offer AUTH=PLAIN); else
	// as the user Username+MasterSeparator+AdminUser ("user*admin").
	AdminUser       string
	MasterSeparator string
	// OAuth, when set, logs in with XOAUTH2 or OAUTHBEARER and a token
	// from it instead of Password; OAuthMech picks the mechanism
	// ("xoauth2", "oauthbearer"; "" or "auto": OAUTHBEARER when
	// announced, else XOAUTH2). A refused token is obtained again, once
	// for all connections, and the login retried.
	OAuth     *oauth2.Source
	OAuthMech string

	// Connections is the most connections open at once, each running one
	// command at a time; 0 means DefaultConnections.
	Connections int
	// Pipeline is, when the server announces LITERAL+ (see the package
	// doc), the APPENDs in flight per pipelined connection: Pipeline ×
	// the pipelined connections in all, and all of them on one
	// connection when they go to one folder; 0 means DefaultPipeline, 1
	// sends one APPEND at a time through go-imap.
	Pipeline int
	// Timeout bounds each command (and each dial with its greeting,
	// STARTTLS and login); an APPEND gets Timeout plus Size/(64 KiB/s).
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxMessageSize, above 0, is the largest message Append sends (a
	// provider's documented limit): a larger one is refused unsent,
	// wrapping target.ErrRejected.
	MaxMessageSize int64
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// Dialer opens the TCP connection; nil uses a net.Dialer. Tests and
	// proxies set it.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// applyDefaults fills zero fields; see each field for its default.
func (o *Options) applyDefaults() {
	if o.Connections <= 0 {
		o.Connections = DefaultConnections
	}
	if o.Pipeline <= 0 {
		o.Pipeline = DefaultPipeline
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Dialer == nil {
		var d net.Dialer
		o.Dialer = d.DialContext
	}
}

// appendTimeout is the watchdog's limit for an APPEND of size octets.
func (o *Options) appendTimeout(size int64) time.Duration {
	return o.Timeout + time.Duration(size)*time.Second/appendRate
}
