package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/mailferry/mailferry/source"
)

// auth logs in with SASL PLAIN when the server lists it, else with
// USER/PASS.
func (s *Source) auth(ctx context.Context) error {
	if s.opts.OAuth != nil {
		return s.authOAuth(ctx)
	}
	if strings.ContainsAny(s.opts.Username+s.opts.Password+s.opts.AdminUser+s.opts.MasterSeparator, "\r\n") {
		return fmt.Errorf("pop3 auth: %w: username or password contains a line break", source.ErrAuth)
	}
	err := s.authAs()
	if err != nil && s.opts.AdminUser != "" && errors.Is(err, source.ErrAuth) {
		return fmt.Errorf("admin %q logging in as user %q refused (check the admin's name and password, and that the user exists): %w",
			s.opts.AdminUser, s.opts.Username, err)
	}
	return err
}

func (s *Source) authAs() error {
	authz, authc := s.identities()
	if s.saslMech(sasl.Plain) {
		return s.authPlain(authz, authc)
	}
	if authz != "" {
		return fmt.Errorf("pop3 auth: %w: admin login as another user needs AUTH PLAIN, which the server does not offer (set master_separator for Dovecot's user*master form)", source.ErrAuth)
	}
	return s.userPass(authc)
}

// identities returns the authorization identity (the user acted as, ""
// for oneself) and the authentication identity sent.
func (s *Source) identities() (authz, authc string) {
	switch {
	case s.opts.AdminUser == "":
		return "", s.opts.Username
	case s.opts.MasterSeparator != "":
		return "", s.opts.Username + s.opts.MasterSeparator + s.opts.AdminUser
	default:
		return s.opts.Username, s.opts.AdminUser
	}
}

// authPlain runs AUTH PLAIN (RFC 5034) without an initial response, which
// every server that offers SASL accepts, whatever the line length limit.
func (s *Source) authPlain(authz, authc string) error {
	_, ir, err := sasl.NewPlainClient(authz, authc, s.opts.Password).Start()
	if err != nil {
		return fmt.Errorf("pop3 auth: %w", err)
	}
	if err := s.cmd("AUTH PLAIN"); err != nil {
		return fmt.Errorf("pop3 auth: %w", err)
	}
	line, err := s.readLine()
	if err != nil {
		return fmt.Errorf("pop3 auth: %w", err)
	}
	if line != "+" && !strings.HasPrefix(line, "+ ") {
		return s.authReply("auth", line)
	}
	if err := s.cmd(base64.StdEncoding.EncodeToString(ir)); err != nil {
		return fmt.Errorf("pop3 auth: %w", err)
	}
	line, err = s.readLine()
	if err != nil {
		return fmt.Errorf("pop3 auth: %w", err)
	}
	return s.authReply("auth", line)
}

// userPass runs USER and PASS (RFC 1939).
func (s *Source) userPass(user string) error {
	if err := s.cmd("USER " + user); err != nil {
		return fmt.Errorf("pop3 user: %w", err)
	}
	if err := s.authStatus("user"); err != nil {
		return err
	}
	if err := s.cmd("PASS " + s.opts.Password); err != nil {
		return fmt.Errorf("pop3 pass: %w", err)
	}
	return s.authStatus("pass")
}

func (s *Source) authStatus(what string) error {
	line, err := s.readLine()
	if err != nil {
		return fmt.Errorf("pop3 %s: %w", what, err)
	}
	return s.authReply(what, line)
}

// authReply judges the reply to an authentication step: +OK is success,
// a temporary -ERR ([IN-USE], [SYS/TEMP], [LOGIN-DELAY]) is temporary, any
// other -ERR wraps source.ErrAuth with the server's text, from which the
// password is masked should the server echo it.
func (s *Source) authReply(what, line string) error {
	if _, ok := cutStatus(line, "+OK"); ok {
		return nil
	}
	text, ok := cutStatus(line, "-ERR")
	if !ok {
		err := fmt.Errorf("pop3 %s: unexpected reply %.80q", what, s.mask(line))
		s.breakSession(err)
		return err
	}
	err := parseErr(s.mask(text))
	var tmp *source.TemporaryError
	if errors.As(err, &tmp) {
		return fmt.Errorf("pop3 %s: %w", what, err)
	}
	return fmt.Errorf("pop3 %s: %w: %w", what, source.ErrAuth, err)
}

// mask hides the password in text, as sent and inside the base64 of the
// AUTH PLAIN response.
func (s *Source) mask(text string) string {
	if s.opts.Password == "" {
		return text
	}
	authz, authc := s.identities()
	ir := base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + authc + "\x00" + s.opts.Password))
	return strings.NewReplacer(ir, "********", s.opts.Password, "********").Replace(text)
}
