package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
)

// TestDovecotAdminLogin reads bob's maildrop as Dovecot's master user
// "admin", by AUTH PLAIN with bob as authorization identity and as
// "bob*admin"; a wrong admin password is an auth error that names both
// identities and not the password.
func TestDovecotAdminLogin(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Users:       []dovecottest.User{{Name: "alice", Password: "alice-secret"}, {Name: "bob", Password: "bob-secret"}},
		MasterUsers: []dovecottest.User{{Name: "admin", Password: "admin-secret"}},
	})
	msgs := [][]byte{[]byte("From: a@example.org\r\nSubject: for bob\r\nMessage-ID: <b1@example.org>\r\n\r\nbob's mail\r\n")}
	dc.Seed(t, "bob", "", msgs)
	base := Options{Addr: dc.POP3Addr, TLS: TLSNone, Username: "bob", Password: "admin-secret", AdminUser: "admin",
		Timeout: 10 * time.Second}
	for _, sep := range []string{"", "*"} {
		opts := base
		opts.MasterSeparator = sep
		s := dial(t, opts)
		refs := listAll(t, s)
		if len(refs) != 1 {
			t.Fatalf("separator %q: List() = %d refs, want 1 (bob's)", sep, len(refs))
		}
		checkBytes(t, "bob's message", readOpen(t, s, refs[0]), msgs[0])
	}

	for _, sep := range []string{"", "*"} {
		opts := base
		opts.MasterSeparator = sep
		opts.Password = "wrong-admin-pass"
		_, err := Dial(context.Background(), opts)
		if !errors.Is(err, source.ErrAuth) || isTemporary(err) {
			t.Fatalf("separator %q, wrong admin password: Dial() = %v, want a permanent ErrAuth", sep, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `admin "admin"`) || !strings.Contains(msg, `user "bob"`) {
			t.Errorf("Dial() = %q, want the admin and the user named", msg)
		}
		if strings.Contains(msg, "wrong-admin-pass") {
			t.Errorf("Dial() = %q, the password in it", msg)
		}
	}
}

// TestAdminLoginNeedsPlain: a server without SASL PLAIN cannot take an
// authorization identity; the error says so instead of sending USER.
func TestAdminLoginNeedsPlain(t *testing.T) {
	srv := newServer(t, pop3test.Options{NoSASL: true}, nil)
	opts := plainOptions(srv)
	opts.AdminUser = "admin"
	_, err := Dial(context.Background(), opts)
	if !errors.Is(err, source.ErrAuth) || !strings.Contains(err.Error(), "needs AUTH PLAIN") {
		t.Fatalf("Dial() = %v, want ErrAuth saying AUTH PLAIN is needed", err)
	}
}

// TestAdminMask: the admin's password is masked as sent, and inside the
// base64 of the AUTH PLAIN response with the authorization identity.
func TestAdminMask(t *testing.T) {
	s := &Source{opts: Options{Username: "bob", AdminUser: "admin", Password: "pw-admin"}}
	ir := base64.StdEncoding.EncodeToString([]byte("bob\x00admin\x00pw-admin"))
	for _, text := range []string{"echo pw-admin", "echo " + ir} {
		if got := s.mask(text); strings.Contains(got, "pw-admin") || strings.Contains(got, ir) {
			t.Errorf("mask(%q) = %q, want the password hidden", text, got)
		}
	}
}
