package oauth2

import (
	"encoding/base64"
	"strings"

	"github.com/emersion/go-sasl"
)

// XOAUTH2Message returns the XOAUTH2 initial response (before base64):
// "user=" user ^A "auth=Bearer " token ^A ^A.
func XOAUTH2Message(user, token string) []byte {
	return []byte("user=" + user + "\x01auth=Bearer " + token + "\x01\x01")
}

// OAUTHBEARERMessage returns the RFC 7628 initial client response
// (before base64) for user and token.
func OAUTHBEARERMessage(user, token string) []byte {
	_, ir, _ := sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token}).Start()
	return ir
}

// Message returns the initial response of mech for user and token.
func Message(mech, user, token string) []byte {
	if strings.EqualFold(mech, XOAUTH2) {
		return XOAUTH2Message(user, token)
	}
	return OAUTHBEARERMessage(user, token)
}

// Choose picks the mechanism: want when set ("xoauth2", "oauthbearer"),
// else (auto) OAUTHBEARER when the server advertises it, else XOAUTH2 when
// advertised, else OAUTHBEARER.
func Choose(want string, advertised func(mech string) bool) string {
	switch strings.ToLower(want) {
	case "xoauth2":
		return XOAUTH2
	case "oauthbearer":
		return OAUTHBEARER
	}
	if advertised(OAUTHBEARER) {
		return OAUTHBEARER
	}
	if advertised(XOAUTH2) {
		return XOAUTH2
	}
	return OAUTHBEARER
}

// RedactToken replaces token, and the base64 of any SASL message that
// could carry it, in text.
func RedactToken(text, token string) string {
	if token == "" || text == "" {
		return text
	}
	if strings.Contains(text, token) {
		text = strings.ReplaceAll(text, token, "********")
	}
	// A base64 SASL payload hides the token from a plain search: redact
	// any long base64 word that decodes to something holding it.
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '\r' || r == '\n' || r == '"' })
	for _, f := range fields {
		if len(f) < 16 {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(f); err == nil && strings.Contains(string(b), token) {
			text = strings.ReplaceAll(text, f, "********")
		}
	}
	return text
}

// RedactSASL replaces the payload of any line that looks like a SASL
// exchange (AUTHENTICATE/AUTH with a mechanism and initial response, or a
// bare base64 continuation line) in a protocol trace.
func RedactSASL(line string) string {
	f := strings.Fields(line)
	for i, w := range f {
		u := strings.ToUpper(w)
		if (u == "AUTHENTICATE" || u == "AUTH") && i+2 < len(f) {
			return strings.Join(append(f[:i+2:i+2], "********"), " ")
		}
	}
	return line
}
