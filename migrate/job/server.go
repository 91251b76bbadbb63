package job

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/internal/mailnet"
)

// Addr is a Server's URL taken apart.
type Addr struct {
	Scheme   string // "pop3", "pop3s", "imap", "imaps"
	Host     string // without port
	Addr     string // host:port
	User     string
	Implicit bool // TLS from the first byte
	Plain    bool // no TLS at all (tls: none)
}

// Name is how the server is named in the state, logs and reports: no
// password, ever.
func (a Addr) Name() string { return a.Scheme + "://" + url.User(a.User).String() + "@" + a.Addr }

var defaultPorts = map[string]int{"pop3": 110, "pop3s": 995, "imap": 143, "imaps": 993}

// Parse checks the server's URL against proto ("pop3" or "imap").
func (e *Server) Parse(proto string) (Addr, error) {
	u, err := url.Parse(e.URL)
	if err != nil {
		if strings.Contains(e.URL, "@") {
			// The parser's message quotes the URL, password and all.
			return Addr{}, configErrorf("url %q: not a valid URL", Redact(e.URL))
		}
		return Addr{}, configErrorf("url %q: %v", Redact(e.URL), err)
	}
	s := Addr{Scheme: u.Scheme, Host: u.Hostname(), User: u.User.Username()}
	if s.Scheme != proto && s.Scheme != proto+"s" {
		return Addr{}, configErrorf("url %q: scheme must be %s:// or %ss://", Redact(e.URL), proto, proto)
	}
	if _, has := u.User.Password(); has {
		return Addr{}, configErrorf("url %q: do not put a password in a URL; use password_env, password_file or password_command", Redact(e.URL))
	}
	if s.User == "" || s.Host == "" {
		return Addr{}, configErrorf("url %q: needs a user and a host, as in %s://alice@mail.example.org", Redact(e.URL), proto)
	}
	port := defaultPorts[s.Scheme]
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return Addr{}, configErrorf("url %q: bad port", Redact(e.URL))
		}
	}
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
	s.Implicit = s.Scheme == proto+"s"
	if err := e.checkTLS(s); err != nil {
		return Addr{}, configErrorf("url %q: %v", Redact(e.URL), err)
	}
	switch e.TLS {
	case "":
	case "none":
		if !e.AllowPlaintext {
			return Addr{}, configErrorf("url %q: tls: none sends the password in clear; set allow_plaintext: true to mean it", Redact(e.URL))
		}
		if s.Implicit {
			return Addr{}, configErrorf("url %q: tls: none contradicts %s://", Redact(e.URL), s.Scheme)
		}
		s.Plain = true
	default:
		return Addr{}, configErrorf("url %q: tls: %q is not supported (leave it out, or none)", Redact(e.URL), e.TLS)
	}
	return s, nil
}

// Redact removes a password from a URL for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "<redacted>" + raw[i:]
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}

// checkTLS checks that the certificate settings agree: one way to accept
// an untrusted certificate at most, none with tls: none.
func (e *Server) checkTLS(a Addr) error {
	if e.TLSFingerprint != "" {
		if _, err := mailnet.ParseFingerprint(e.TLSFingerprint); err != nil {
			return fmt.Errorf("tls_fingerprint: %v", err)
		}
	}
	var set []string
	for _, o := range []struct {
		name string
		on   bool
	}{{"ca_file", e.CAFile != ""}, {"tls_fingerprint", e.TLSFingerprint != ""}, {"tls_skip_verify", e.TLSSkipVerify}} {
		if o.on {
			set = append(set, o.name)
		}
	}
	switch {
	case e.TLS == "none" && len(set) > 0:
		return fmt.Errorf("%s has no use with tls: none", set[0])
	case len(set) > 1 && e.TLSFingerprint != "":
		return fmt.Errorf("tls_fingerprint accepts exactly one certificate; leave out %s", strings.Join(slices.DeleteFunc(set, func(s string) bool { return s == "tls_fingerprint" }), " and "))
	case len(set) > 1 && e.TLSSkipVerify:
		return errors.New("tls_skip_verify accepts any certificate; leave out ca_file")
	}
	return nil
}

// tlsConfig builds the TLS settings for a server: certificates are
// verified unless the user pins one or opts out.
func (e *Server) tlsConfig(a Addr) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: a.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.TLSSkipVerify}
	if e.TLSFingerprint != "" {
		pin, err := mailnet.ParseFingerprint(e.TLSFingerprint)
		if err != nil {
			return nil, configErrorf("tls_fingerprint: %v", err)
		}
		mailnet.Pin(cfg, pin)
	}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, configErrorf("ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErrorf("ca_file %s: no PEM certificate in it", e.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// warnSkipVerify logs, on every run, that the certificate of the server
// a names is not checked.
func (e *Server) warnSkipVerify(log *slog.Logger, who string, a Addr) {
	if e.TLSSkipVerify && !a.Plain {
		log.Warn("tls_skip_verify: the certificate of "+who+" "+a.Name()+" is not checked: anyone on the way can pose as the server "+
			"and read the password and the mail; pin the certificate with tls_fingerprint instead", "server", a.Name())
	}
}
