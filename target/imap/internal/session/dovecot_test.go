package session

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/mailnet"
)

// dovecotConfig is a Config for alice on dc at addr.
func dovecotConfig(dc *dovecottest.Server, addr string, mode mailnet.TLSMode, tc *tls.Config) Config {
	var d net.Dialer
	return Config{Addr: addr, TLS: mode, TLSConfig: tc, Username: "alice", Password: "alice-secret",
		Timeout: 60 * time.Second, Dialer: d.DialContext}
}

// TestDovecotWrongScheme dials Dovecot's real ports with the wrong TLS
// mode: each fails within seconds, permanent, saying which scheme to use.
func TestDovecotWrongScheme(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{})
	tests := []struct {
		name string
		addr string
		mode mailnet.TLSMode
		want string
	}{
		{"imap (STARTTLS) on the IMAPS port", dc.IMAPSAddr, mailnet.TLSStartTLS, "server at " + dc.IMAPSAddr + " speaks TLS at once (sent no greeting; a TLS handshake succeeds): use imaps:// for this port, not imap://"},
		{"imap (tls: none) on the IMAPS port", dc.IMAPSAddr, mailnet.TLSNone, "use imaps:// for this port"},
		{"imaps on the IMAP port", dc.IMAPAddr, mailnet.TLSImplicit, "server at " + dc.IMAPAddr + " answered in plain text (\"* OK \"), not TLS: use imap:// (STARTTLS) for this port, not imaps://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Dial(context.Background(), dovecotConfig(dc, tt.addr, tt.mode, &tls.Config{RootCAs: dc.CertPool}))
			took := time.Since(start)
			var se *mailnet.SchemeError
			if !errors.As(err, &se) || !errors.Is(err, mailnet.ErrTLS) || IsTemporary(err) {
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

// TestDovecotCertificate connects to Dovecot's IMAPS port, whose
// certificate is self-signed, and upgrades its IMAP port.
func TestDovecotCertificate(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{})
	b, err := os.ReadFile(dc.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	fp := mailnet.FingerprintOf(cert)
	for _, port := range []struct {
		name string
		addr string
		mode mailnet.TLSMode
	}{{"imaps", dc.IMAPSAddr, mailnet.TLSImplicit}, {"starttls", dc.IMAPAddr, mailnet.TLSStartTLS}} {
		dial := func(tc *tls.Config) error {
			s, err := Dial(context.Background(), dovecotConfig(dc, port.addr, port.mode, tc))
			if err == nil {
				s.Conn.Close()
			}
			return err
		}
		t.Run(port.name+" untrusted", func(t *testing.T) {
			err := dial(nil)
			var ce *mailnet.CertError
			var cve *tls.CertificateVerificationError
			if !errors.As(err, &ce) || !errors.As(err, &cve) || IsTemporary(err) {
				t.Fatalf("Dial() = %v, want a permanent *mailnet.CertError", err)
			}
			for _, want := range []string{"certificate of the server at " + port.addr + " is not trusted: it is self-signed",
				"fingerprint: " + fp.String(), "tls_fingerprint: " + fp.String(), "--target-tls-fingerprint", "--target-ca-file", "--target-tls-skip-verify"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%s", want, err)
				}
			}
		})
		t.Run(port.name+" pinned", func(t *testing.T) {
			tc := &tls.Config{}
			mailnet.Pin(tc, fp)
			if err := dial(tc); err != nil {
				t.Fatalf("Dial() with the pin = %v", err)
			}
		})
		t.Run(port.name+" wrong pin", func(t *testing.T) {
			wrong := fp
			wrong[31] ^= 1
			tc := &tls.Config{}
			mailnet.Pin(tc, wrong)
			err := dial(tc)
			var pe *mailnet.PinError
			if !errors.As(err, &pe) || IsTemporary(err) {
				t.Fatalf("Dial() = %v, want a permanent *mailnet.PinError", err)
			}
			for _, want := range []string{"does not match tls_fingerprint", fp.String(), wrong.String()} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%s", want, err)
				}
			}
		})
		t.Run(port.name+" skip verify", func(t *testing.T) {
			if err := dial(&tls.Config{InsecureSkipVerify: true}); err != nil {
				t.Fatalf("Dial() with InsecureSkipVerify = %v", err)
			}
		})
	}
}
