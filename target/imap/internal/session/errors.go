package session

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/mailnet"
	"github.com/mailferry/mailferry/internal/retry"
)

// ErrTimeout is wrapped (as mailnet.Temporary) when a watchdog fires.
var ErrTimeout = errors.New("no answer from the IMAP server in time")

// Temporary marks err as transient unless it already is.
func Temporary(err error) error {
	if err == nil || IsTemporary(err) {
		return err
	}
	return mailnet.Temporary(err)
}

// IsTemporary reports whether err is marked mailnet.Temporary.
func IsTemporary(err error) bool {
	var te *mailnet.TemporaryError
	return errors.As(err, &te)
}

// AsIMAP returns the server's status response inside err, or nil.
func AsIMAP(err error) *imap.Error {
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		return imapErr
	}
	return nil
}

// TransientCodes are NO responses that may succeed later (RFC 5530).
var TransientCodes = map[imap.ResponseCode]bool{
	imap.ResponseCodeUnavailable: true,
	imap.ResponseCodeInUse:       true,
	imap.ResponseCodeServerBug:   true,
}

// classifyTLS keeps certificate errors as they are (fatal for the job) and
// marks other handshake failures temporary. A server without STARTTLS
// answers NO or BAD, which stays permanent too: we never fall back to
// clear text.
func classifyTLS(err error) error {
	var verr *tls.CertificateVerificationError
	var alert tls.AlertError
	if errors.As(err, &verr) || errors.As(err, &alert) || AsIMAP(err) != nil {
		return err
	}
	return Temporary(err)
}

// loginError classifies a failed login: a NO wraps mailnet.ErrAuth, except
// [UNAVAILABLE] and the like, which are temporary (RFC 5530), as are
// failures to talk. The password never appears in the error. An admin
// login's error names the admin and the user it acts as.
func loginError(err error, cfg *Config) error {
	authz, authc := cfg.identities()
	msg := RedactLogin(err.Error(), authc, cfg.Password, authz)
	who := fmt.Sprintf("login as %q", cfg.Username)
	if cfg.AdminUser != "" {
		who = fmt.Sprintf("admin %q logging in as user %q", cfg.AdminUser, cfg.Username)
	}
	imapErr := AsIMAP(err)
	if imapErr == nil || TransientCodes[imapErr.Code] {
		return Temporary(fmt.Errorf("%s: %s", who, msg))
	}
	if cfg.AdminUser != "" {
		return fmt.Errorf("%s refused (check the admin's name and password, and that the user exists): %w: %s", who, mailnet.ErrAuth, msg)
	}
	return fmt.Errorf("%s: %w: %s", who, mailnet.ErrAuth, msg)
}

// RedactLogin removes a password from s in every form a login sends it:
// plain, quoted with escapes (LOGIN), and inside the base64 of an
// AUTHENTICATE PLAIN response, in case a server echoes the command. user
// is the authentication identity; authzs are authorization identities
// sent with it (an admin acting as a user).
func RedactLogin(s, user, secret string, authzs ...string) string {
	if secret == "" {
		return s
	}
	quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(secret)
	forms := []string{secret, quoted}
	irs := []string{"\x00" + user + "\x00" + secret, user + "\x00" + user + "\x00" + secret}
	for _, a := range authzs {
		irs = append(irs, a+"\x00"+user+"\x00"+secret)
	}
	for _, ir := range irs {
		forms = append(forms, base64.StdEncoding.EncodeToString([]byte(ir)))
	}
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, "***")
	}
	return s
}

// The inner retry budget (package retry documents both layers): a call
// gets MaxAttempts tries, BackoffBase then twice that apart, ±50 %.
const (
	MaxAttempts = 3
	BackoffBase = 100 * time.Millisecond
)

// InnerRetry is the inner retry budget as a retry.Policy. A try that sets
// *final stops the retries with its error.
func InnerRetry(final *bool) retry.Policy {
	return retry.Policy{
		Attempts:  MaxAttempts,
		Base:      BackoffBase,
		Jitter:    0.5,
		Retryable: func(error) bool { return !*final },
	}
}

// GaveUp returns the last error of a used-up retry budget as
// mailnet.Temporary, and any other error as it is.
func GaveUp(err error) error {
	if ex, ok := err.(*retry.Exhausted); ok {
		return Temporary(fmt.Errorf("%d attempts: %w", ex.Attempts, ex.Err))
	}
	return err
}
