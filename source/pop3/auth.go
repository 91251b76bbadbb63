package pop3

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/mailferry/mailferry/source"
)

// auth logs in with SASL PLAIN when the server lists it, else with
// USER/PASS.
func (s *Source) auth() error {
	if strings.ContainsAny(s.opts.Username+s.opts.Password, "\r\n") {
		return fmt.Errorf("pop3 auth: %w: username or password contains a line break", source.ErrAuth)
	}
	if s.saslMech(sasl.Plain) {
		return s.authPlain()
	}
	return s.userPass()
}

// authPlain runs AUTH PLAIN (RFC 5034) without an initial response, which
// every server that offers SASL accepts, whatever the line length limit.
func (s *Source) authPlain() error {
	_, ir, err := sasl.NewPlainClient("", s.opts.Username, s.opts.Password).Start()
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
func (s *Source) userPass() error {
	if err := s.cmd("USER " + s.opts.Username); err != nil {
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

// mask hides the password in text.
func (s *Source) mask(text string) string {
	if s.opts.Password == "" {
		return text
	}
	return strings.ReplaceAll(text, s.opts.Password, "********")
}
