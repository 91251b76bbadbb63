package pop3

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/mailferry/mailferry/internal/oauth2"
	"github.com/mailferry/mailferry/source"
)

// maxAuthLine is the longest AUTH command with an initial response (RFC
// 5034 4: 255 octets); a longer one is sent after the server's "+".
const maxAuthLine = 255

// authOAuth logs in with XOAUTH2 or OAUTHBEARER. A refused token (an
// -ERR that is not temporary) is obtained again through the shared
// source, once for all sessions refused the same token, and the login is
// tried once more.
func (s *Source) authOAuth(ctx context.Context) error {
	if s.opts.AdminUser != "" {
		return fmt.Errorf("pop3 auth: %w: admin logins do not combine with OAuth2", source.ErrAuth)
	}
	if strings.ContainsAny(s.opts.Username, "\r\n\x01") {
		return fmt.Errorf("pop3 auth: %w: username contains a control character", source.ErrAuth)
	}
	mech := oauth2.Choose(s.opts.OAuthMech, s.saslMech)
	if !s.saslMech(mech) {
		return fmt.Errorf("pop3 auth: %w: the server does not offer SASL %s", source.ErrAuth, mech)
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		tok, gen, terr := s.opts.OAuth.Token(ctx)
		if terr != nil {
			return fmt.Errorf("pop3 auth: %w", terr)
		}
		err = s.authToken(mech, tok)
		var tmp *source.TemporaryError
		if err == nil || !errors.Is(err, source.ErrAuth) || errors.As(err, &tmp) || attempt == 1 {
			break
		}
		if rerr := s.opts.OAuth.Refresh(ctx, gen); rerr != nil {
			return fmt.Errorf("pop3 auth: token refused; getting a new one: %w", rerr)
		}
	}
	if err != nil && errors.Is(err, source.ErrAuth) {
		return fmt.Errorf("%w (OAuth2 token refused, also after getting a new one)", err)
	}
	return err
}

// authToken runs one AUTH with the token: the initial response on the
// command line when it fits in 255 octets, else after the server's "+".
// A "+" after the response carries the server's error (RFC 7628 3.2.2),
// answered with ^A for OAUTHBEARER and an empty line for XOAUTH2.
func (s *Source) authToken(mech, tok string) error {
	ir := base64.StdEncoding.EncodeToString(oauth2.Message(mech, s.opts.Username, tok))
	cmd := "AUTH " + mech + " " + ir
	if len(cmd)+2 > maxAuthLine {
		if err := s.cmd("AUTH " + mech); err != nil {
			return fmt.Errorf("pop3 auth: %w", err)
		}
		line, err := s.readLine()
		if err != nil {
			return fmt.Errorf("pop3 auth: %w", err)
		}
		if line != "+" && !strings.HasPrefix(line, "+ ") {
			return s.oauthReply(line, tok)
		}
		cmd = ir
	}
	if err := s.cmd(cmd); err != nil {
		return fmt.Errorf("pop3 auth: %w", err)
	}
	line, err := s.readLine()
	if err != nil {
		return fmt.Errorf("pop3 auth: %w", err)
	}
	if line == "+" || strings.HasPrefix(line, "+ ") {
		ack := ""
		if mech == oauth2.OAUTHBEARER {
			ack = base64.StdEncoding.EncodeToString([]byte{1})
		}
		if err := s.cmd(ack); err != nil {
			return fmt.Errorf("pop3 auth: %w", err)
		}
		if line, err = s.readLine(); err != nil {
			return fmt.Errorf("pop3 auth: %w", err)
		}
	}
	return s.oauthReply(line, tok)
}

// oauthReply is authReply with the token redacted from the server's text.
func (s *Source) oauthReply(line, tok string) error {
	return s.authReply("auth", oauth2.RedactToken(line, tok))
}
