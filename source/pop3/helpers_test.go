package pop3

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
)

const (
	testUser = "bob"
	testPass = "s3cret-pa55word"
)

// newServer starts a pop3test server with bob's maildrop msgs.
func newServer(t testing.TB, opts pop3test.Options, msgs [][]byte) *pop3test.Server {
	t.Helper()
	opts.Users = map[string]string{testUser: testPass}
	opts.Messages = map[string][][]byte{testUser: msgs}
	return pop3test.NewServer(t, opts)
}

// plainOptions returns client options for srv without TLS.
func plainOptions(srv *pop3test.Server) Options {
	return Options{Addr: srv.Addr, TLS: TLSNone, Username: testUser, Password: testPass, Timeout: 10 * time.Second}
}

// dial connects with opts and closes the session at the end of the test.
func dial(t testing.TB, opts Options) *Source {
	t.Helper()
	s, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatalf("Dial() = %v, want nil", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listAll returns every Ref List gives.
func listAll(t testing.TB, s *Source) []source.Ref {
	t.Helper()
	var refs []source.Ref
	err := s.List(context.Background(), func(r source.Ref) error {
		refs = append(refs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("List() = %v, want nil", err)
	}
	return refs
}

// readOpen reads one message with Open.
func readOpen(t testing.TB, s *Source, ref source.Ref) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), ref)
	if err != nil {
		t.Fatalf("Open(%s) = %v, want nil", ref.ID, err)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", ref.ID, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("closing %s: %v", ref.ID, err)
	}
	return b
}

// checkBytes fails t unless got equals want, naming the first difference.
func checkBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s: got %d bytes, want %d; first difference at offset %d: got %q, want %q",
		what, len(got), len(want), i, excerpt(got, i), excerpt(want, i))
}

func excerpt(b []byte, i int) []byte {
	return b[max(0, i-10):min(len(b), i+20)]
}

// isTemporary reports whether err is marked source.TemporaryError.
func isTemporary(err error) bool {
	var tmp *source.TemporaryError
	return errors.As(err, &tmp)
}

// testCert returns a self-signed certificate for 127.0.0.1 and a pool
// that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pop3test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// scriptServer accepts one connection on 127.0.0.1 and runs script on
// it; it returns the address.
func scriptServer(t testing.TB, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		script(c)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}
