package session

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/internal/oauth2"
)

// loginOAuth authenticates with XOAUTH2 or OAUTHBEARER. When the server
// refuses the token (a NO, as for an expired one), a new token is
// obtained through the shared source, once for every connection refused
// the same token, and the login is tried once more on this connection.
func (s *Session) loginOAuth(ctx context.Context, cfg *Config) error {
	if cfg.AdminUser != "" {
		return fmt.Errorf("login as %q: %w: admin logins do not combine with OAuth2", cfg.Username, mailnet.ErrAuth)
	}
	caps := s.Caps
	mech := oauth2.Choose(cfg.OAuthMech, func(m string) bool { return caps.Has(imap.AuthCap(m)) })
	if !caps.Has(imap.AuthCap(mech)) {
		return fmt.Errorf("login as %q: %w: the server does not offer AUTH=%s", cfg.Username, mailnet.ErrAuth, mech)
	}
	var err error
	var tok string
	for attempt := 0; attempt < 2; attempt++ {
		var gen uint64
		var terr error
		tok, gen, terr = cfg.OAuth.Token(ctx)
		if terr != nil {
			return fmt.Errorf("login as %q: %w", cfg.Username, terr)
		}
		s.Caps = nil
		err = s.authenticate(mech, cfg.Username, tok, caps.Has(imap.CapSASLIR))
		if err == nil {
			return s.capsAfterLogin()
		}
		imapErr := AsIMAP(err)
		if imapErr == nil || TransientCodes[imapErr.Code] || attempt == 1 {
			break
		}
		if rerr := cfg.OAuth.Refresh(ctx, gen); rerr != nil {
			return fmt.Errorf("login as %q: token refused; getting a new one: %w", cfg.Username, rerr)
		}
	}
	return oauthError(err, cfg, tok)
}

// authenticate runs one AUTHENTICATE with the token. A continuation
// after the initial response carries the server's error (RFC 7628 3.2.2):
// OAUTHBEARER answers it with ^A, XOAUTH2 with an empty line.
func (s *Session) authenticate(mech, user, token string, saslIR bool) error {
	ir := base64.StdEncoding.EncodeToString(oauth2.Message(mech, user, token))
	sent := false
	_, err := s.Command("L", "AUTHENTICATE "+mech+irIf(saslIR, ir), func() string {
		if !saslIR && !sent {
			sent = true
			return ir
		}
		if mech == oauth2.OAUTHBEARER {
			return base64.StdEncoding.EncodeToString([]byte{1})
		}
		return ""
	})
	return err
}

func irIf(ok bool, ir string) string {
	if ok {
		return " " + ir
	}
	return ""
}

// oauthError classifies a failed OAuth2 login as loginError does, with
// the token sent redacted.
func oauthError(err error, cfg *Config, tok string) error {
	msg := oauth2.RedactToken(err.Error(), tok)
	who := fmt.Sprintf("login as %q", cfg.Username)
	imapErr := AsIMAP(err)
	if imapErr == nil || TransientCodes[imapErr.Code] {
		return Temporary(fmt.Errorf("%s: %s", who, msg))
	}
	return fmt.Errorf("%s (OAuth2 token refused, also after getting a new one): %w: %s", who, mailnet.ErrAuth, msg)
}
