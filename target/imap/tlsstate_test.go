package imap

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/mailferry/mailferry/target/imap/imaptest"
)

func TestTLSState(t *testing.T) {
	srv := imaptest.NewServer(t, testUser, testPass)
	trusted := &tls.Config{RootCAs: srv.CertPool()}
	for _, tt := range []struct {
		name string
		addr string
		mode TLSMode
	}{{"implicit", srv.TLSAddr, TLSImplicit}, {"starttls", srv.Addr, TLSStartTLS}, {"none", srv.Addr, TLSNone}} {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := New(context.Background(), Options{Addr: tt.addr, TLS: tt.mode, TLSConfig: trusted,
				Username: testUser, Password: testPass, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			defer tg.Close()
			st, ok := tg.TLSState()
			if tt.mode == TLSNone {
				if ok {
					t.Fatalf("TLSState() reports TLS on a plaintext connection")
				}
				return
			}
			if !ok || !st.HandshakeComplete || len(st.PeerCertificates) == 0 || len(st.VerifiedChains) == 0 {
				t.Fatalf("TLSState() = %+v, %v; want a verified handshake", st, ok)
			}
		})
	}
}
