package mailnet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// ErrTLS marks a failure to set up a protected connection that no retry
// can cure: the wrong scheme for the port (SchemeError), a certificate
// that is not trusted or not the pinned one (CertError). Like ErrAuth it
// is fatal for the job; the engine counts it as a failure to connect.
var ErrTLS = errors.New("TLS setup failed")

// A Fingerprint is the SHA-256 of a certificate's DER bytes. It prints
// as "sha256:" and 64 lower-case hex digits.
type Fingerprint [sha256.Size]byte

// FingerprintOf returns the fingerprint of cert.
func FingerprintOf(cert *x509.Certificate) Fingerprint { return sha256.Sum256(cert.Raw) }

func (f Fingerprint) String() string { return "sha256:" + hex.EncodeToString(f[:]) }

// ParseFingerprint reads a tls_fingerprint: "sha256:" and 64 hex digits,
// either case, pairs optionally separated by ':' (as openssl x509
// -fingerprint -sha256 prints them).
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	digits, ok := cutFold(strings.TrimSpace(s), "sha256:")
	if !ok {
		digits, ok = cutFold(strings.TrimSpace(s), "sha256 fingerprint=")
	}
	b, err := hex.DecodeString(strings.ReplaceAll(digits, ":", ""))
	if !ok || err != nil || len(b) != len(f) {
		return f, fmt.Errorf("%q is not sha256: followed by the 64 hex digits of a SHA-256 fingerprint", s)
	}
	copy(f[:], b)
	return f, nil
}

func cutFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Pin makes cfg accept exactly the server certificate whose fingerprint
// is pin, whoever issued it, whatever names and dates it holds (as
// fetchmail's sslfingerprint), and no other: verification against the
// system's or ca_file's authorities is replaced by the comparison. The
// handshake fails with a *PinError when the server presents another
// certificate.
func Pin(cfg *tls.Config, pin Fingerprint) {
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &PinError{Want: pin}
		}
		leaf := cs.PeerCertificates[0]
		if FingerprintOf(leaf) != pin {
			return &PinError{Want: pin, Cert: leaf}
		}
		return nil
	}
}

// A PinError is a server certificate other than the pinned one.
type PinError struct {
	Want Fingerprint
	Cert *x509.Certificate // the server's; nil if it sent none
}

func (e *PinError) Error() string {
	if e.Cert == nil {
		return "the server sent no certificate; tls_fingerprint is " + e.Want.String()
	}
	return fmt.Sprintf("the server's certificate is %s, not the pinned %s", FingerprintOf(e.Cert), e.Want)
}

// Role names a connection's side in messages and in the flags they
// suggest: "source" or "target".
type Role string

// The roles.
const (
	RoleSource Role = "source"
	RoleTarget Role = "target"
)

// A CertError is a server certificate that was not accepted: not trusted
// (Err is then a *tls.CertificateVerificationError, which errors.As
// finds) or not the pinned one (Err a *PinError). Its message says in
// plain words what is wrong, gives the certificate's fingerprint and the
// three ways out.
type CertError struct {
	Role Role
	Addr string // host:port
	// Problem is what is wrong, in plain words: "it is self-signed", ...
	Problem string
	Cert    *x509.Certificate // the server's leaf certificate, if it sent one
	Err     error
}

func (e *CertError) Unwrap() []error { return []error{ErrTLS, e.Err} }

func (e *CertError) Error() string {
	var b strings.Builder
	var pin *PinError
	pinned := errors.As(e.Err, &pin)
	if pinned {
		fmt.Fprintf(&b, "certificate of the server at %s does not match tls_fingerprint: %s", e.Addr, e.Problem)
	} else {
		fmt.Fprintf(&b, "certificate of the server at %s is not trusted: %s", e.Addr, e.Problem)
	}
	if e.Cert == nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
		return b.String()
	}
	c := e.Cert
	fmt.Fprintf(&b, "\n  certificate: %s, issued by %s, valid %s to %s",
		certName(c), issuerName(c), c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly))
	fp := FingerprintOf(c)
	fmt.Fprintf(&b, "\n  fingerprint: %s", fp)
	flag := "--" + string(e.Role)
	if pinned {
		fmt.Fprintf(&b, "\n  pinned:      %s", pin.Want)
		fmt.Fprintf(&b, "\n  If the server's certificate was replaced, check the new one's fingerprint with its administrator, then set"+
			"\n    tls_fingerprint: %s   (%s-tls-fingerprint)", fp, flag)
		return b.String()
	}
	fmt.Fprintf(&b, "\n  If this is the server you mean (check the fingerprint with its administrator), set one of these on the %s:", e.Role)
	fmt.Fprintf(&b, "\n    tls_fingerprint: %s   (%s-tls-fingerprint): accept exactly this certificate", fp, flag)
	var unknown x509.UnknownAuthorityError
	if errors.As(e.Err, &unknown) {
		// ca_file cures only an unknown issuer, not a wrong name or date.
		fmt.Fprintf(&b, "\n    ca_file: FILE.pem   (%s-ca-file): trust the authority that issued it", flag)
	}
	fmt.Fprintf(&b, "\n    tls_skip_verify: true   (%s-tls-skip-verify): accept any certificate; anyone on the way can then read the password", flag)
	var host x509.HostnameError
	if errors.As(e.Err, &host) {
		b.WriteString("\n  or put a name the certificate is for in the URL")
	}
	return b.String()
}

// certName is what a certificate is for: its subject's common name, or
// its first DNS name or address.
func certName(c *x509.Certificate) string {
	switch {
	case c.Subject.CommonName != "":
		return "CN=" + c.Subject.CommonName
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.IPAddresses) > 0:
		return c.IPAddresses[0].String()
	}
	return c.Subject.String()
}

func issuerName(c *x509.Certificate) string {
	if selfSigned(c) {
		return "itself"
	}
	if c.Issuer.CommonName != "" {
		return "CN=" + c.Issuer.CommonName
	}
	return c.Issuer.String()
}

// selfSigned reports whether c names itself as its issuer and its own
// key signed it.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// names lists the host names and addresses a certificate is valid for.
func names(c *x509.Certificate) string {
	var n []string
	n = append(n, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		n = append(n, ip.String())
	}
	if len(n) == 0 && c.Subject.CommonName != "" {
		n = append(n, c.Subject.CommonName+" (common name only, which is no longer accepted)")
	}
	if len(n) == 0 {
		return "no name at all"
	}
	return strings.Join(n, ", ")
}

// problem says in plain words why a certificate was refused.
func problem(err error, leaf *x509.Certificate, now time.Time) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var pin *PinError
	switch {
	case errors.As(err, &pin):
		if pin.Cert == nil {
			return "the server sent no certificate"
		}
		return "the server presented another certificate"
	case errors.As(err, &host):
		return fmt.Sprintf("it is for %s, not for %s (name mismatch)", names(host.Certificate), host.Host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		c := invalid.Cert
		if c == nil {
			c = leaf
		}
		if c != nil && now.Before(c.NotBefore) {
			return fmt.Sprintf("it is not valid yet: not before %s (check this machine's clock too)", c.NotBefore.UTC().Format(time.RFC3339))
		}
		if c != nil {
			return fmt.Sprintf("it expired on %s", c.NotAfter.UTC().Format(time.RFC3339))
		}
		return "it has expired or is not valid yet"
	case errors.As(err, &unknown):
		c := unknown.Cert
		if c == nil {
			c = leaf
		}
		if c != nil && selfSigned(c) {
			return "it is self-signed (it vouches for itself; no authority this system trusts issued it)"
		}
		if c != nil {
			return fmt.Sprintf("it was issued by %s, an authority this system does not trust (unknown issuer)", issuerName(c))
		}
		return "it was issued by an authority this system does not trust (unknown issuer)"
	case errors.As(err, &invalid):
		return "it is not valid: " + invalid.Error()
	}
	return err.Error()
}

// A SchemeError is a server that speaks TLS at once on a connection meant
// to start in plain text (pop3://, imap://), or plain text on one meant
// for TLS at once (pop3s://, imaps://).
type SchemeError struct {
	Addr  string
	Proto string // "pop3" or "imap"
	// TLS: the server waits for a TLS handshake; else it answered in plain
	// text, starting with Sample.
	TLS    bool
	Sample string
}

func (e *SchemeError) Unwrap() error { return ErrTLS }

func (e *SchemeError) Error() string {
	upgrade := "STARTTLS"
	if e.Proto == "pop3" {
		upgrade = "STLS"
	}
	if e.TLS {
		return fmt.Sprintf("server at %s speaks TLS at once (sent no greeting; a TLS handshake succeeds): use %ss:// for this port, not %s://",
			e.Addr, e.Proto, e.Proto)
	}
	return fmt.Sprintf("server at %s answered in plain text (%q), not TLS: use %s:// (%s) for this port, not %ss://",
		e.Addr, e.Sample, e.Proto, upgrade, e.Proto)
}

// ExplainHandshake turns the failure of a TLS handshake with the server
// at addr into a *CertError, or a *SchemeError when implicit (TLS from
// the first byte) and the server answered in plain text; it returns nil
// for any other failure. Marks such as TemporaryError around err are
// dropped: both are permanent.
func ExplainHandshake(err error, role Role, proto, addr string, implicit bool) error {
	var cve *tls.CertificateVerificationError
	var pin *PinError
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &cve):
		var leaf *x509.Certificate
		if len(cve.UnverifiedCertificates) > 0 {
			leaf = cve.UnverifiedCertificates[0]
		}
		return &CertError{Role: role, Addr: addr, Problem: problem(cve.Err, leaf, time.Now()), Cert: leaf, Err: cve}
	case errors.As(err, &pin):
		return &CertError{Role: role, Addr: addr, Problem: problem(pin, pin.Cert, time.Now()), Cert: pin.Cert, Err: pin}
	case implicit && errors.As(err, &rhe) && plainText(rhe.RecordHeader[:]):
		return &SchemeError{Addr: addr, Proto: proto, Sample: string(rhe.RecordHeader[:])}
	}
	return nil
}

// plainText reports whether b looks like the start of a text reply.
func plainText(b []byte) bool {
	for _, c := range b {
		if (c < ' ' || c > '~') && c != '\r' && c != '\n' {
			return false
		}
	}
	return len(b) > 0
}

// ProbeDelay is how long a plain-text connection waits for the server's
// greeting before it probes the port for TLS (see WatchGreeting).
var ProbeDelay = 3 * time.Second

// A GreetingWatch probes a port for TLS while a plain-text connection to
// it waits for the greeting: POP3 and IMAP servers speak first, so a
// silent server may be a TLS port that waits for a ClientHello.
type GreetingWatch struct {
	timer  *time.Timer
	cancel context.CancelFunc
	done   chan struct{}
	mu     chan struct{} // a lock: held while deciding
	tls    bool
	stop   bool
}

// WatchGreeting starts a watch: if no greeting came after ProbeDelay
// (half of timeout if that is shorter), it opens a second connection to
// addr with dial and tries a TLS handshake there, verifying nothing; if
// that succeeds it calls abort, which must make the wait for the
// greeting fail (close its connection). Stop ends the watch.
func WatchGreeting(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error),
	addr string, timeout time.Duration, abort func()) *GreetingWatch {
	delay := min(ProbeDelay, timeout/2)
	pctx, cancel := context.WithCancel(ctx)
	w := &GreetingWatch{cancel: cancel, done: make(chan struct{}), mu: make(chan struct{}, 1)}
	w.timer = time.AfterFunc(delay, func() {
		defer close(w.done)
		ok := probeTLS(pctx, dial, addr, timeout)
		w.mu <- struct{}{}
		if ok && !w.stop {
			w.tls = true
			abort()
		}
		<-w.mu
	})
	return w
}

// Stop ends the watch, waiting for a probe under way to end, and reports
// whether the port was found to speak TLS (the greeting's wait was then
// aborted). After Stop, abort is never called.
func (w *GreetingWatch) Stop() bool {
	w.cancel()
	w.mu <- struct{}{}
	w.stop = true
	found := w.tls
	<-w.mu
	if !w.timer.Stop() {
		<-w.done
	}
	return found
}

// probeTLS reports whether a TLS handshake succeeds with addr.
func probeTLS(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, min(timeout, 10*time.Second))
	defer cancel()
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(addr)
	tc := tls.Client(c, &tls.Config{ServerName: host, InsecureSkipVerify: true}) //nolint:gosec // a probe: nothing is sent over it
	if err := tc.HandshakeContext(ctx); err != nil {
		var op *net.OpError
		// A TLS alert from the server is TLS too.
		return errors.As(err, &op) && op.Op == "remote error"
	}
	tc.Close()
	return true
}
