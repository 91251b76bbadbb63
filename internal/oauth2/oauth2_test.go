package oauth2

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestXOAUTH2Message(t *testing.T) {
	got := base64.StdEncoding.EncodeToString(XOAUTH2Message("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"))
	// The form Google documents for XOAUTH2.
	want := "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestOAUTHBEARERMessage(t *testing.T) {
	// RFC 7628 section 4.1 (without host and port, which are optional).
	got := string(OAUTHBEARERMessage("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="))
	want := "n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestChoose(t *testing.T) {
	both := func(string) bool { return true }
	onlyX := func(m string) bool { return m == XOAUTH2 }
	none := func(string) bool { return false }
	for _, c := range []struct {
		want string
		adv  func(string) bool
		exp  string
	}{{"", both, OAUTHBEARER}, {"auto", onlyX, XOAUTH2}, {"", none, OAUTHBEARER}, {"xoauth2", both, XOAUTH2}, {"OAUTHBEARER", onlyX, OAUTHBEARER}} {
		if got := Choose(c.want, c.adv); got != c.exp {
			t.Errorf("Choose(%q) = %s, want %s", c.want, got, c.exp)
		}
	}
}

func TestTokenFileReadEachTime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(p, []byte("tok-one\n"), 0o600)
	s, err := New(Config{File: p})
	if err != nil {
		t.Fatal(err)
	}
	tok, gen, err := s.Token(context.Background())
	if err != nil || tok != "tok-one" {
		t.Fatalf("token %q, %v", tok, err)
	}
	os.WriteFile(p, []byte("tok-two\n"), 0o600)
	if err := s.Refresh(context.Background(), gen); err != nil {
		t.Fatal(err)
	}
	if tok, _, _ := s.Token(context.Background()); tok != "tok-two" {
		t.Fatalf("after refresh: %q", tok)
	}
	os.WriteFile(p, nil, 0o600)
	if err := s.Refresh(context.Background(), gen+1); err == nil {
		t.Fatal("empty file gave no error")
	}
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "tok.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nif [ \"$1\" = fail ]; then echo 'refresh token revoked' >&2; echo secret-on-stdout; exit 3; fi\necho \"tok-$1\"\n"), 0o700)
	s, _ := New(Config{Command: []string{script, "a b;$(x)"}})
	tok, _, err := s.Token(context.Background())
	if err != nil || tok != "tok-a b;$(x)" {
		t.Fatalf("token %q, %v (argv must reach the command unchanged, no shell)", tok, err)
	}
	s, _ = New(Config{Command: []string{script, "fail"}})
	_, _, err = s.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refresh token revoked") || strings.Contains(err.Error(), "secret-on-stdout") {
		t.Fatalf("error %v: want stderr shown, stdout not", err)
	}
	if _, err := New(Config{Command: []string{"x"}, File: "y"}); err == nil {
		t.Fatal("both set: no error")
	}
}

func TestSplitCommand(t *testing.T) {
	got, err := SplitCommand(`oauth2l fetch --scope 'https://mail.google.com/ x' "a\"b" c\ d`)
	want := []string{"oauth2l", "fetch", "--scope", "https://mail.google.com/ x", `a"b`, "c d"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", "  ", "a 'b", `a\`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestSingleFlight: many connections whose token is rejected at once
// cause one fetch; a late caller with an old generation causes none.
func TestSingleFlight(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	s := NewFunc(func(context.Context) (string, error) {
		i := n.Add(1)
		if i > 1 {
			<-release
		}
		return fmt.Sprintf("tok%d", i), nil
	})
	ctx := context.Background()
	_, gen, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 16
	var wg, started sync.WaitGroup
	started.Add(workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			if err := s.Refresh(ctx, gen); err != nil {
				t.Error(err)
			}
		}()
	}
	started.Wait()
	// Let the fetch finish only once every worker has asked or waits.
	for i := 0; i < 1000 && s.waiting() == 0; i++ {
		// bounded: the first worker registers its flight promptly
		runtimeGosched()
	}
	close(release)
	wg.Wait()
	if got := n.Load(); got != 2 {
		t.Fatalf("%d fetches for %d concurrent refreshes of one token, want 2 (first + one refresh)", got, workers)
	}
	tok, gen2, _ := s.Token(ctx)
	if tok != "tok2" || gen2 != gen+1 {
		t.Fatalf("token %q gen %d", tok, gen2)
	}
	if err := s.Refresh(ctx, gen); err != nil || n.Load() != 2 {
		t.Fatalf("stale refresh fetched again: %d, %v", n.Load(), err)
	}
}

func TestRedact(t *testing.T) {
	tok := "ya29.SECRETTOKEN123"
	ir := base64.StdEncoding.EncodeToString(XOAUTH2Message("u@x", tok))
	ob := base64.StdEncoding.EncodeToString(OAUTHBEARERMessage("u@x", tok))
	text := "a1 AUTHENTICATE XOAUTH2 " + ir + "\r\nAUTH OAUTHBEARER " + ob + " token " + tok
	got := RedactToken(text, tok)
	for _, s := range []string{tok, ir, ob} {
		if strings.Contains(got, s) {
			t.Fatalf("redacted text still holds %q: %s", s, got)
		}
	}
	if got := RedactSASL("a1 AUTHENTICATE XOAUTH2 " + ir); strings.Contains(got, ir) {
		t.Fatalf("RedactSASL: %s", got)
	}
}
