package session

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/internal/oauth2"
)

// TestDovecotOAuth2Refresh logs in to Dovecot's oauth2 passdb with each
// mechanism, many connections at once, with tokens valid for 4 logins:
// every dial succeeds, the token command runs a bounded number of times
// (one refresh per expiry, shared), and no error holds a token.
func TestDovecotOAuth2Refresh(t *testing.T) {
	idp := dovecottest.StartIdP(t, 4)
	dc := dovecottest.Start(t, dovecottest.Options{OAuth2IntrospectionURL: idp.URL})
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			issued0, _, _ := idp.Counts()
			src, err := oauth2.New(oauth2.Config{Command: idp.TokenCommand("alice")})
			if err != nil {
				t.Fatal(err)
			}
			var d net.Dialer
			cfg := Config{Addr: dc.IMAPAddr, TLS: mailnet.TLSNone, Username: "alice", OAuth: src, OAuthMech: mech,
				Timeout: 60 * time.Second, Dialer: d.DialContext}
			const rounds, conns = 2, 3
			for range rounds {
				var wg sync.WaitGroup
				errs := make(chan error, conns)
				for range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s, err := Dial(context.Background(), cfg)
						if err != nil {
							errs <- err
							return
						}
						_ = s.Conn.Close()
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("Dial: %v", err)
				}
			}
			issued, _, refused := idp.Counts()
			n := issued - issued0
			// 6 logins, 4 per token: the first token, then one refresh
			// shared by the connections refused it.
			if n != 2 || src.Fetches() != n {
				t.Errorf("token command ran %d times (source counted %d) for %d logins, want 2", n, src.Fetches(), rounds*conns)
			}
			if refused == 0 {
				t.Errorf("no token was refused: expiry was not exercised")
			}
		})
	}
	// A token that stays refused: a permanent auth error without it.
	src := oauth2.NewFunc(func(context.Context) (string, error) { return "mftok-bogus-secret", nil })
	var d net.Dialer
	_, err := Dial(context.Background(), Config{Addr: dc.IMAPAddr, TLS: mailnet.TLSNone, Username: "alice", OAuth: src,
		Timeout: 60 * time.Second, Dialer: d.DialContext})
	if !errors.Is(err, mailnet.ErrAuth) || strings.Contains(err.Error(), "mftok-bogus-secret") || src.Fetches() != 2 {
		t.Fatalf("Dial with a refused token = %v (fetches %d), want ErrAuth, no token, 2 fetches", err, src.Fetches())
	}
	if log := dc.LogTail(); strings.Contains(log, "mftok-") {
		t.Errorf("dovecot log holds a token")
	}
}
