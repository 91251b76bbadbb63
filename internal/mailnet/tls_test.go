package mailnet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// certSpec describes a test certificate.
type certSpec struct {
	name      string // CN and DNS name
	notBefore time.Time
	notAfter  time.Time
	issuer    *tls.Certificate // nil: self-signed
	ca        bool
}

// makeCert makes a certificate and its key as a tls.Certificate, Leaf set.
func makeCert(t *testing.T, s certSpec) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: s.name},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
		DNSNames:              []string{s.name},
	}
	parent, signer := tmpl, any(key)
	if s.issuer != nil {
		parent, signer = s.issuer.Leaf, s.issuer.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// serveTLS accepts TLS connections with cert on loopback; each handshake
// is completed, then the connection closed.
func serveTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				_, _ = c.Read(make([]byte, 1))
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects to addr as host with cfg and explains the failure.
func handshake(t *testing.T, addr, host string, cfg *tls.Config) error {
	t.Helper()
	cfg.ServerName = host
	c, err := tls.Dial("tcp", addr, cfg)
	if err == nil {
		c.Close()
		return nil
	}
	e := ExplainHandshake(err, RoleSource, "pop3", addr, true)
	if e == nil {
		t.Fatalf("ExplainHandshake(%v) = nil", err)
	}
	return e
}

func TestCertErrorSaysWhatIsWrong(t *testing.T) {
	ca := makeCert(t, certSpec{name: "Test CA", ca: true})
	tests := []struct {
		name string
		cert tls.Certificate
		host string
		want string
	}{
		{"self-signed", makeCert(t, certSpec{name: "mail.example.org"}), "mail.example.org", "it is self-signed"},
		{"unknown issuer", makeCert(t, certSpec{name: "mail.example.org", issuer: &ca}), "mail.example.org",
			"it was issued by CN=Test CA, an authority this system does not trust (unknown issuer)"},
		{"expired", makeCert(t, certSpec{name: "mail.example.org", notBefore: time.Now().Add(-48 * time.Hour),
			notAfter: time.Now().Add(-24 * time.Hour)}), "mail.example.org", "it expired on "},
		{"not yet valid", makeCert(t, certSpec{name: "mail.example.org", notBefore: time.Now().Add(24 * time.Hour),
			notAfter: time.Now().Add(48 * time.Hour)}), "mail.example.org", "it is not valid yet"},
		{"name mismatch", makeCert(t, certSpec{name: "other.example.org"}), "mail.example.org",
			"it is for other.example.org, not for mail.example.org (name mismatch)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveTLS(t, tt.cert)
			roots := x509.NewCertPool()
			if tt.name != "self-signed" && tt.name != "unknown issuer" {
				roots.AddCert(tt.cert.Leaf) // trusted, so the other fault shows
			}
			err := handshake(t, addr, tt.host, &tls.Config{RootCAs: roots})
			msg := err.Error()
			t.Log(msg)
			fp := FingerprintOf(tt.cert.Leaf).String()
			for _, want := range []string{"certificate of the server at " + addr + " is not trusted: " + tt.want,
				"fingerprint: " + fp, "tls_fingerprint: " + fp, "--source-tls-fingerprint",
				"tls_skip_verify: true", "--source-tls-skip-verify"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			// ca_file is offered when it is the cure: for an unknown issuer.
			if unknown := tt.name == "self-signed" || tt.name == "unknown issuer"; unknown != strings.Contains(msg, "--source-ca-file") {
				t.Errorf("error offers ca_file: %v, want %v:\n%s", !unknown, unknown, msg)
			}
			var cve *tls.CertificateVerificationError
			if !errors.As(err, &cve) || !errors.Is(err, ErrTLS) {
				t.Errorf("error %v: want a *tls.CertificateVerificationError inside, marked ErrTLS", err)
			}
		})
	}
}

func TestPin(t *testing.T) {
	cert := makeCert(t, certSpec{name: "other.example.org", notBefore: time.Now().Add(-48 * time.Hour),
		notAfter: time.Now().Add(-24 * time.Hour)}) // expired, for another name, self-signed: the pin alone decides
	addr := serveTLS(t, cert)
	fp := FingerprintOf(cert.Leaf)
	cfg := &tls.Config{}
	Pin(cfg, fp)
	if err := handshake(t, addr, "mail.example.org", cfg); err != nil {
		t.Fatalf("pinned certificate refused: %v", err)
	}

	wrong := Fingerprint{1, 2, 3}
	cfg = &tls.Config{}
	Pin(cfg, wrong)
	err := handshake(t, addr, "mail.example.org", cfg)
	var pe *PinError
	if !errors.As(err, &pe) || !errors.Is(err, ErrTLS) {
		t.Fatalf("handshake with a wrong pin = %v, want a *PinError marked ErrTLS", err)
	}
	for _, want := range []string{"does not match tls_fingerprint", "fingerprint: " + fp.String(), "pinned:      " + wrong.String(),
		"tls_fingerprint: " + fp.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

func TestParseFingerprint(t *testing.T) {
	var f Fingerprint
	for i := range f {
		f[i] = byte(i * 7)
	}
	hexDigits := strings.TrimPrefix(f.String(), "sha256:")
	var pairs []string
	for i := 0; i < len(hexDigits); i += 2 {
		pairs = append(pairs, strings.ToUpper(hexDigits[i:i+2]))
	}
	for _, in := range []string{f.String(), "SHA256:" + strings.ToUpper(hexDigits), "sha256:" + strings.Join(pairs, ":"),
		"sha256 Fingerprint=" + strings.Join(pairs, ":")} {
		got, err := ParseFingerprint(in)
		if err != nil || got != f {
			t.Errorf("ParseFingerprint(%q) = %v, %v; want %v", in, got, err, f)
		}
	}
	for _, in := range []string{"", hexDigits, "sha256:abc", "md5:" + hexDigits, "sha256:" + hexDigits + "00"} {
		if _, err := ParseFingerprint(in); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", in)
		}
	}
}

func TestSchemeErrorPlainTextUnderTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("+OK POP3 ready\r\n"))
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "localhost"})
	if err == nil {
		c.Close()
		t.Fatal("handshake with a plain-text server succeeded")
	}
	e := ExplainHandshake(err, RoleSource, "pop3", ln.Addr().String(), true)
	want := "server at " + ln.Addr().String() + " answered in plain text (\"+OK P\"), not TLS: use pop3:// (STLS) for this port, not pop3s://"
	if e == nil || e.Error() != want || !errors.Is(e, ErrTLS) {
		t.Fatalf("ExplainHandshake = %v, want %q marked ErrTLS", e, want)
	}
	if e := ExplainHandshake(err, RoleSource, "pop3", ln.Addr().String(), false); e != nil {
		t.Errorf("after STLS: ExplainHandshake = %v, want nil", e)
	}
}

func TestWatchGreeting(t *testing.T) {
	defer func(d time.Duration) { ProbeDelay = d }(ProbeDelay)
	ProbeDelay = 100 * time.Millisecond
	var d net.Dialer

	t.Run("TLS port", func(t *testing.T) {
		addr := serveTLS(t, makeCert(t, certSpec{name: "localhost"}))
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		w := WatchGreeting(context.Background(), d.DialContext, addr, 30*time.Second, func() { c.Close() })
		_, err = c.Read(make([]byte, 10)) // the greeting that never comes
		if !w.Stop() || err == nil {
			t.Fatalf("Stop() = false (read: %v), want a TLS port found", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("took %v", time.Since(start))
		}
	})

	t.Run("slow plain-text greeting", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					time.Sleep(500 * time.Millisecond)
					c.Write([]byte("+OK ready\r\n"))
					time.Sleep(time.Second)
					c.Close()
				}()
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		aborted := false
		w := WatchGreeting(context.Background(), d.DialContext, ln.Addr().String(), 30*time.Second, func() { aborted = true })
		n, err := c.Read(make([]byte, 20))
		if w.Stop() || aborted || err != nil || n == 0 {
			t.Fatalf("greeting (%d bytes, %v): watch found TLS or aborted", n, err)
		}
	})
}
