package dovecottest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// An IdP is a token issuer and RFC 7662 style introspection endpoint on
// loopback for Options.OAuth2IntrospectionURL. Each token it issues is
// valid for MaxUses introspections (logins), then inactive, as a token
// that expired mid-run.
type IdP struct {
	// URL is the introspection endpoint; TokenURL hands out a new token
	// for ?user=NAME on GET.
	URL, TokenURL string
	addr          string

	mu             sync.Mutex
	maxUses        int
	tokens         map[string]*idpToken
	issued         int
	introspections int
	refused        int
}

type idpToken struct {
	user string
	uses int
}

// StartIdP runs an IdP until the test ends; maxUses ≤ 0 means unlimited.
func StartIdP(t testing.TB, maxUses int) *IdP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &IdP{maxUses: maxUses, tokens: map[string]*idpToken{}, addr: l.Addr().String()}
	p.URL = "http://" + p.addr + "/introspect"
	p.TokenURL = "http://" + p.addr + "/token"
	mux := http.NewServeMux()
	mux.HandleFunc("/introspect", p.introspect)
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(p.Issue(r.URL.Query().Get("user")) + "\n"))
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

// Issue returns a new token for user.
func (p *IdP) Issue(user string) string { return p.IssueLen(user, 0) }

// IssueLen returns a new token for user at least n characters long, as
// the long tokens some providers issue.
func (p *IdP) IssueLen(user string, n int) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tok := "mftok-" + hex.EncodeToString(b)
	if len(tok) < n {
		tok += strings.Repeat("x", n-len(tok))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens[tok] = &idpToken{user: user}
	p.issued++
	return tok
}

// Counts returns the tokens issued, the introspections answered, and of
// those the ones refused.
func (p *IdP) Counts() (issued, introspections, refused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued, p.introspections, p.refused
}

// Tokens returns every token issued (to check none leaked).
func (p *IdP) Tokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k := range p.tokens {
		out = append(out, k)
	}
	return out
}

// TokenCommand is an argv, run without a shell by the program under
// test, that prints a new token for user from TokenURL (bash's /dev/tcp:
// no HTTP client needed).
func (p *IdP) TokenCommand(user string) []string {
	host, port, _ := net.SplitHostPort(p.addr)
	script := `exec 3<>"/dev/tcp/$1/$2" || exit 1
printf 'GET /token?user=%s HTTP/1.0\r\nHost: idp\r\n\r\n' "$3" >&3
tail -n 1 <&3`
	return []string{"/bin/bash", "-c", script, "token", host, port, user}
}

func (p *IdP) introspect(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.PostForm.Get("token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	p.mu.Lock()
	p.introspections++
	t := p.tokens[tok]
	ok := t != nil && (p.maxUses <= 0 || t.uses < p.maxUses)
	resp := map[string]any{"active": false}
	if ok {
		t.uses++
		resp = map[string]any{"active": true, "username": t.user}
	} else {
		p.refused++
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
