package pop3

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/oauth2"
	"github.com/mailferry/mailferry/source"
)

// TestOAuthErrorRedacted: a server that echoes the AUTH line in its -ERR
// leaves neither the token nor the SASL payload in the error.
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
				c.Write([]byte("+OK ready\r\n"))
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch line = strings.TrimRight(line, "\r\n"); {
					case line == "CAPA":
						c.Write([]byte("+OK\r\nSASL XOAUTH2\r\nUIDL\r\n.\r\n"))
					case strings.HasPrefix(line, "AUTH"):
						c.Write([]byte("-ERR [AUTH] refused: " + line + "\r\n"))
					default:
						c.Write([]byte("-ERR\r\n"))
					}
				}
			}()
		}
	}()
	const tok = "ya29.TOPSECRETTOKEN"
	src := oauth2.NewFunc(func(context.Context) (string, error) { return tok, nil })
	_, err = Dial(context.Background(), Options{Addr: l.Addr().String(), TLS: TLSNone, Username: "alice", OAuth: src, Timeout: 5 * time.Second})
	if !errors.Is(err, source.ErrAuth) {
		t.Fatalf("Dial() = %v, want ErrAuth", err)
	}
	ir := base64.StdEncoding.EncodeToString(oauth2.XOAUTH2Message("alice", tok))
	if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), ir) {
		t.Fatalf("error holds the token: %v", err)
	}
	if src.Fetches() != 2 {
		t.Errorf("token fetched %d times, want 2 (the first, one refresh)", src.Fetches())
	}
}
