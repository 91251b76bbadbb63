package session

import "strings"

// notConnectedTexts are the answers of Microsoft 365 (Exchange Online)
// whose session is broken on the server's side: the connection must be
// dropped and a new one opened.
var notConnectedTexts = []string{
	"user is authenticated but not connected",
	"server unavailable. 15",
}

// NotConnected reports whether a NO's text says the session is broken
// on the server's side.
func NotConnected(text string) bool {
	text = strings.ToLower(text)
	for _, s := range notConnectedTexts {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}
