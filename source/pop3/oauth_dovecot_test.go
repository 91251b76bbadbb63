package pop3

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/oauth2"
	"github.com/mailferry/mailferry/source"
)

// TestDovecotOAuth2 reads alice's maildrop from Dovecot's oauth2 passdb
// with each mechanism, with tokens valid for one login: the second
// session's token is refused and obtained again, the AUTH line split when
// the initial response is long (a 300-octet token), and no error holds a
// token.
func TestDovecotOAuth2(t *testing.T) {
	idp := dovecottest.StartIdP(t, 1)
	dc := dovecottest.Start(t, dovecottest.Options{OAuth2IntrospectionURL: idp.URL})
	msgs := [][]byte{[]byte("From: a@example.org\r\nSubject: one\r\nMessage-ID: <o1@example.org>\r\n\r\nbody\r\n")}
	dc.Seed(t, "alice", "", msgs)
	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		t.Run(mech, func(t *testing.T) {
			var fetches int
			src := oauth2.NewFunc(func(context.Context) (string, error) {
				fetches++
				if fetches == 2 {
					return idp.IssueLen("alice", 300), nil
				}
				return idp.Issue("alice"), nil
			})
			opts := Options{Addr: dc.POP3Addr, TLS: TLSNone, Username: "alice", OAuth: src, OAuthMech: mech, Timeout: 10 * time.Second}
			for i := range 2 {
				s := dial(t, opts)
				if refs := listAll(t, s); len(refs) != 1 {
					t.Fatalf("session %d: %d messages, want 1", i, len(refs))
				}
				_ = s.Close()
			}
			if fetches != 2 {
				t.Errorf("token fetched %d times for 2 sessions with one-login tokens, want 2", fetches)
			}
		})
	}
	src := oauth2.NewFunc(func(context.Context) (string, error) { return "mftok-bogus-secret", nil })
	_, err := Dial(context.Background(), Options{Addr: dc.POP3Addr, TLS: TLSNone, Username: "alice", OAuth: src, Timeout: 10 * time.Second})
	if !errors.Is(err, source.ErrAuth) || strings.Contains(err.Error(), "mftok-bogus-secret") || src.Fetches() != 2 {
		t.Fatalf("Dial with a refused token = %v (fetches %d), want ErrAuth, no token, 2 fetches", err, src.Fetches())
	}
}
