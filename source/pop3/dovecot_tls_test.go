package pop3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/mailnet"
)

// dovecotFingerprint is the fingerprint of dc's self-signed certificate.
func dovecotFingerprint(t *testing.T, dc *dovecottest.Server) mailnet.Fingerprint {
	t.Helper()
	b, err := os.ReadFile(dc.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return mailnet.FingerprintOf(cert)
}

// TestDovecotWrongScheme dials Dovecot's real ports with the wrong TLS
// mode: each fails within seconds, permanent, saying which scheme to use.
func TestDovecotWrongScheme(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{})
	tests := []struct {
		name string
		addr string
		mode TLSMode
		want string
	}{
		{"pop3 (STLS) on the POP3S port", dc.POP3SAddr, TLSStartTLS, "server at " + dc.POP3SAddr + " speaks TLS at once (sent no greeting; a TLS handshake succeeds): use pop3s:// for this port, not pop3://"},
		{"pop3 (tls: none) on the POP3S port", dc.POP3SAddr, TLSNone, "use pop3s:// for this port"},
		{"pop3s on the POP3 port", dc.POP3Addr, TLSImplicit, "server at " + dc.POP3Addr + " answered in plain text (\"+OK D\"), not TLS: use pop3:// (STLS) for this port, not pop3s://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Dial(context.Background(), Options{Addr: tt.addr, TLS: tt.mode, Username: "alice", Password: "alice-secret",
				TLSConfig: &tls.Config{RootCAs: dc.CertPool}, Timeout: 60 * time.Second})
			took := time.Since(start)
			var se *mailnet.SchemeError
			if !errors.As(err, &se) || !errors.Is(err, mailnet.ErrTLS) || isTemporary(err) {
				t.Fatalf("Dial() = %v, want a permanent *mailnet.SchemeError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Dial() = %q, want %q in it", err, tt.want)
			}
			if took > 10*time.Second {
				t.Errorf("took %v, want under 10s", took)
			}
		})
	}
}

// TestDovecotCertificate connects to Dovecot's POP3S port, whose
// certificate is self-signed.
func TestDovecotCertificate(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{})
	fp := dovecotFingerprint(t, dc)
	dial := func(cfg *tls.Config) (*Source, error) {
		return Dial(context.Background(), Options{Addr: dc.POP3SAddr, TLS: TLSImplicit, Username: "alice", Password: "alice-secret",
			TLSConfig: cfg, Timeout: 30 * time.Second})
	}

	t.Run("untrusted", func(t *testing.T) {
		_, err := dial(nil)
		var ce *mailnet.CertError
		var cve *tls.CertificateVerificationError
		if !errors.As(err, &ce) || !errors.As(err, &cve) || isTemporary(err) {
			t.Fatalf("Dial() = %v, want a permanent *mailnet.CertError", err)
		}
		for _, want := range []string{"certificate of the server at " + dc.POP3SAddr + " is not trusted: it is self-signed",
			"fingerprint: " + fp.String(), "tls_fingerprint: " + fp.String(), "--source-tls-fingerprint", "--source-ca-file", "--source-tls-skip-verify"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%s", want, err)
			}
		}
	})

	t.Run("pinned", func(t *testing.T) {
		cfg := &tls.Config{}
		mailnet.Pin(cfg, fp)
		s, err := dial(cfg)
		if err != nil {
			t.Fatalf("Dial() with the pin = %v", err)
		}
		s.Close()
	})

	t.Run("wrong pin", func(t *testing.T) {
		wrong := fp
		wrong[0] ^= 0xff
		cfg := &tls.Config{}
		mailnet.Pin(cfg, wrong)
		_, err := dial(cfg)
		var pe *mailnet.PinError
		if !errors.As(err, &pe) || isTemporary(err) {
			t.Fatalf("Dial() = %v, want a permanent *mailnet.PinError", err)
		}
		for _, want := range []string{"does not match tls_fingerprint", fp.String(), wrong.String()} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%s", want, err)
			}
		}
	})

	t.Run("skip verify", func(t *testing.T) {
		s, err := dial(&tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("Dial() with InsecureSkipVerify = %v", err)
		}
		s.Close()
	})
}
