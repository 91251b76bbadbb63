package session

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/internal/oauth2"
)

// TestOAuthErrorRedacted: a server that echoes the AUTHENTICATE line in
// its NO leaves neither the token nor the SASL payload in the error.
func TestOAuthErrorRedacted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				c.Write([]byte("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER AUTH=XOAUTH2] ready\r\n"))
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					tag, _, _ := strings.Cut(line, " ")
					c.Write([]byte(tag + " NO [AUTHENTICATIONFAILED] refused: " + line + "\r\n"))
				}
			}()
		}
	}()
	const tok = "ya29.TOPSECRETTOKEN"
	for _, mech := range []string{oauth2.XOAUTH2, oauth2.OAUTHBEARER} {
		src := oauth2.NewFunc(func(context.Context) (string, error) { return tok, nil })
		var d net.Dialer
		_, err = Dial(context.Background(), Config{Addr: l.Addr().String(), TLS: mailnet.TLSNone, Username: "alice",
			OAuth: src, OAuthMech: mech, Timeout: 5 * time.Second, Dialer: d.DialContext})
		if !errors.Is(err, mailnet.ErrAuth) {
			t.Fatalf("%s: Dial() = %v, want ErrAuth", mech, err)
		}
		ir := base64.StdEncoding.EncodeToString(oauth2.Message(mech, "alice", tok))
		if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), ir) {
			t.Fatalf("%s: error holds the token: %v", mech, err)
		}
		if src.Fetches() != 2 {
			t.Errorf("%s: token fetched %d times, want 2 (the first, one refresh)", mech, src.Fetches())
		}
	}
}
