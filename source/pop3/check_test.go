package pop3

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/mailferry/mailferry/source/pop3/pop3test"
)

func TestStatAndTLSState(t *testing.T) {
	msgs := [][]byte{[]byte("Subject: a\r\n\r\none\r\n"), []byte("Subject: b\r\n\r\ntwo, longer\r\n")}
	srv := newServer(t, pop3test.Options{}, msgs)
	s := dial(t, plainOptions(srv))
	n, octets, err := s.Stat(context.Background())
	if err != nil || n != 2 || octets != int64(len(msgs[0])+len(msgs[1])) {
		t.Fatalf("Stat() = %d, %d, %v; want 2, %d, nil", n, octets, err, len(msgs[0])+len(msgs[1]))
	}
	if _, ok := s.TLSState(); ok {
		t.Errorf("TLSState() on a plaintext session reports TLS")
	}
	// The session stays usable.
	if refs := listAll(t, s); len(refs) != 2 {
		t.Fatalf("List after Stat: %d refs, want 2", len(refs))
	}

	cert, pool := testCert(t)
	tsrv := newServer(t, pop3test.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ImplicitTLS: true}, msgs)
	ts := dial(t, Options{Addr: tsrv.Addr, TLS: TLSImplicit, TLSConfig: &tls.Config{RootCAs: pool},
		Username: testUser, Password: testPass})
	st, ok := ts.TLSState()
	if !ok || !st.HandshakeComplete || len(st.PeerCertificates) == 0 || st.Version < tls.VersionTLS12 {
		t.Fatalf("TLSState() = %+v, %v; want a completed handshake with the server's certificate", st, ok)
	}
}
