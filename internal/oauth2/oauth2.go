// Package oauth2 holds what the IMAP target and the POP3 source share for
// OAuth2 logins: a token source that runs a command or reads a file, with a
// single-flight refresh when a server rejects a token, and the SASL
// messages of XOAUTH2 and OAUTHBEARER (RFC 7628). It depends on no other
// package of the project.
package oauth2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// Mechanism names as servers advertise them.
const (
	XOAUTH2     = "XOAUTH2"
	OAUTHBEARER = "OAUTHBEARER"
)

// ErrNoToken reports a token command or file that gave no token.
var ErrNoToken = errors.New("oauth2: no access token")

// Source hands out an access token and obtains a new one when told that
// the one in use was rejected. Safe for concurrent use.
type Source struct {
	fetch func(context.Context) (string, error)

	mu      sync.Mutex
	token   string
	gen     uint64 // bumped each time a token is obtained
	flight  *call
	fetches int
}

type call struct {
	done chan struct{}
	err  error
}

// Config names where a token comes from: Command (argv, run without a
// shell, the token on stdout) or File (read each time a token is needed).
type Config struct {
	Command []string
	File    string
}

// Enabled reports whether c names a token source.
func (c Config) Enabled() bool { return len(c.Command) > 0 || c.File != "" }

// New returns a Source for c, or nil when c names none.
func New(c Config) (*Source, error) {
	switch {
	case len(c.Command) > 0 && c.File != "":
		return nil, errors.New("oauth2: set oauth2_token_command or oauth2_token_file, not both")
	case len(c.Command) > 0:
		argv := append([]string(nil), c.Command...)
		return NewFunc(func(ctx context.Context) (string, error) { return runCommand(ctx, argv) }), nil
	case c.File != "":
		path := c.File
		return NewFunc(func(context.Context) (string, error) { return readFile(path) }), nil
	}
	return nil, nil
}

// NewFunc returns a Source obtaining tokens from fetch.
func NewFunc(fetch func(context.Context) (string, error)) *Source {
	return &Source{fetch: fetch}
}

// Token returns the current token and its generation, obtaining one on
// first use. Pass the generation to Refresh when the server rejects it.
func (s *Source) Token(ctx context.Context) (token string, gen uint64, err error) {
	s.mu.Lock()
	if s.gen > 0 && s.flight == nil {
		t, g := s.token, s.gen
		s.mu.Unlock()
		return t, g, nil
	}
	s.mu.Unlock()
	if err := s.Refresh(ctx, 0); err != nil {
		return "", 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token, s.gen, nil
}

// Refresh obtains a new token after the one of generation gen was
// rejected. Callers that saw the same generation at the same time share
// one fetch; a caller whose generation is already outdated gets the newer
// token without a fetch.
func (s *Source) Refresh(ctx context.Context, gen uint64) error {
	s.mu.Lock()
	if s.flight == nil && s.gen > gen {
		s.mu.Unlock()
		return nil
	}
	c := s.flight
	if c == nil {
		c = &call{done: make(chan struct{})}
		s.flight = c
		s.fetches++
		s.mu.Unlock()
		tok, err := s.fetch(ctx)
		if err == nil && tok == "" {
			err = ErrNoToken
		}
		s.mu.Lock()
		if err == nil {
			s.token = tok
			s.gen++
		}
		c.err = err
		s.flight = nil
		close(c.done)
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fetches reports how many times a token was obtained (for tests).
func (s *Source) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Redact replaces the current token, and any SASL message built from it,
// in text.
func (s *Source) Redact(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	tok := s.token
	s.mu.Unlock()
	return RedactToken(text, tok)
}

func runCommand(ctx context.Context, argv []string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		// stdout may hold a token: only stderr is shown.
		return "", fmt.Errorf("oauth2_token_command %q: %w: %s", argv[0], err, msg)
	}
	tok := firstLine(out.String())
	if tok == "" {
		return "", fmt.Errorf("oauth2_token_command %q: %w on stdout", argv[0], ErrNoToken)
	}
	return tok, nil
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("oauth2_token_file: %w", err)
	}
	tok := firstLine(string(b))
	if tok == "" {
		return "", fmt.Errorf("oauth2_token_file %s: %w", path, ErrNoToken)
	}
	return tok, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// SplitCommand splits a command line at spaces and tabs, honouring single
// and double quotes and backslash escapes; no shell is involved.
func SplitCommand(line string) ([]string, error) {
	var argv []string
	var cur strings.Builder
	inArg := false
	var quote rune
	esc := false
	for _, r := range line {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, inArg = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				argv = append(argv, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if esc || quote != 0 {
		return nil, errors.New("oauth2_token_command: unterminated quote or escape")
	}
	if inArg {
		argv = append(argv, cur.String())
	}
	if len(argv) == 0 {
		return nil, errors.New("oauth2_token_command: empty")
	}
	return argv, nil
}
