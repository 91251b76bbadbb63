package session

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/internal/mailnet"
)

// TestDovecotAdminLogin logs in to bob's mailbox as Dovecot's master user
// "admin", by AUTHENTICATE PLAIN with bob as authorization identity and
// as "bob*admin": bob's own folder can then be selected. A wrong admin
// password is a permanent ErrAuth naming both identities, without the
// password in any form.
func TestDovecotAdminLogin(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Users:       []dovecottest.User{{Name: "alice", Password: "alice-secret"}, {Name: "bob", Password: "bob-secret"}},
		MasterUsers: []dovecottest.User{{Name: "admin", Password: "admin-secret"}},
	})
	dc.Seed(t, "bob", "BobOnly", [][]byte{[]byte("Subject: x\r\nMessage-ID: <x@example.org>\r\n\r\nx\r\n")})
	for _, sep := range []string{"", "*"} {
		cfg := dovecotConfig(dc, dc.IMAPAddr, mailnet.TLSNone, nil)
		cfg.Username, cfg.Password, cfg.AdminUser, cfg.MasterSeparator = "bob", "admin-secret", "admin", sep
		s, err := Dial(context.Background(), cfg)
		if err != nil {
			t.Fatalf("separator %q: Dial() = %v, want nil", sep, err)
		}
		if _, err := s.Command("S", "SELECT BobOnly", nil); err != nil {
			t.Errorf("separator %q: SELECT BobOnly = %v, want bob's folder", sep, err)
		}
		s.Conn.Close()

		cfg.Password = "wrong-admin-pass"
		_, err = Dial(context.Background(), cfg)
		if !errors.Is(err, mailnet.ErrAuth) || IsTemporary(err) {
			t.Fatalf("separator %q, wrong admin password: Dial() = %v, want a permanent ErrAuth", sep, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `admin "admin"`) || !strings.Contains(msg, `user "bob"`) {
			t.Errorf("Dial() = %q, want the admin and the user named", msg)
		}
		if RedactLogin(msg, cfg.AdminUser, cfg.Password, "bob") != msg || strings.Contains(msg, "wrong-admin-pass") {
			t.Errorf("Dial() = %q, the password in it", msg)
		}
	}
}

// An admin login sends AUTHENTICATE PLAIN with the authorization
// identity (SASL-IR here); a server echoing it in its NO shows neither
// the password nor the base64 response in the error.
func TestAdminLoginSentAndRedacted(t *testing.T) {
	cfg, got := serve(t, mailnet.TLSNone, func(r *bufio.Reader, w net.Conn) {
		fmt.Fprint(w, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] hi\r\n")
		l := line(r)
		fmt.Fprintf(w, "L NO [AUTHENTICATIONFAILED] no: %s\r\n", l)
	})
	cfg.Username, cfg.AdminUser, cfg.Password = "bob", "admin", "pw-admin"
	_, err := Dial(context.Background(), cfg)
	ir := base64.StdEncoding.EncodeToString([]byte("bob\x00admin\x00pw-admin"))
	if lines := <-got; len(lines) != 1 || lines[0] != "L AUTHENTICATE PLAIN "+ir {
		t.Errorf("client sent %q, want AUTHENTICATE PLAIN with bob as authzid", lines)
	}
	if !errors.Is(err, mailnet.ErrAuth) || strings.Contains(err.Error(), ir) || strings.Contains(err.Error(), "pw-admin") {
		t.Errorf("Dial() = %v, want ErrAuth without the password in any form", err)
	}
}

// A server without AUTH=PLAIN cannot take an authorization identity: no
// credentials are sent, and the error says why.
func TestAdminLoginNeedsPlain(t *testing.T) {
	cfg, got := serve(t, mailnet.TLSNone, func(r *bufio.Reader, w net.Conn) {
		fmt.Fprint(w, "* OK [CAPABILITY IMAP4rev1] hi\r\n")
		_, _ = r.ReadByte() // until the client closes
	})
	cfg.AdminUser = "admin"
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, mailnet.ErrAuth) || !strings.Contains(err.Error(), "AUTH=PLAIN") {
		t.Errorf("Dial() = %v, want ErrAuth saying AUTH=PLAIN is needed", err)
	}
	if lines := <-got; strings.Join(lines, "") != "" {
		t.Errorf("client sent %q, want nothing", lines)
	}
}
