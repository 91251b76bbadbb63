package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/internal/mailnet"
)

// serve runs script on the server side of a pipe and returns a Config
// whose Dialer hands out the client side, and the lines the client sent.
func serve(t *testing.T, mode mailnet.TLSMode, script func(r *bufio.Reader, w net.Conn)) (Config, <-chan []string) {
	t.Helper()
	cli, srv := net.Pipe()
	got := make(chan []string, 1)
	go func() {
		defer srv.Close()
		rec := &recorder{r: bufio.NewReader(srv)}
		script(bufio.NewReader(rec), srv)
		got <- strings.Split(strings.TrimSpace(rec.b.String()), "\r\n")
	}()
	t.Cleanup(func() { cli.Close() })
	cfg := Config{Addr: "imap.test:143", TLS: mode, Username: "u", Password: "p", Timeout: 5 * time.Second,
		Dialer: func(context.Context, string, string) (net.Conn, error) { return cli, nil }}
	return cfg, got
}

// A recorder keeps what the client sent.
type recorder struct {
	r *bufio.Reader
	b strings.Builder
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.b.Write(p[:n])
	return n, err
}

func line(r *bufio.Reader) string {
	s, _ := r.ReadString('\n')
	return strings.TrimRight(s, "\r\n")
}

// A STARTTLS answer followed by more clear text is an injection: the
// dial fails for good and no credentials leave.
func TestStartTLSInjectionRefused(t *testing.T) {
	cfg, got := serve(t, mailnet.TLSStartTLS, func(r *bufio.Reader, w net.Conn) {
		fmt.Fprint(w, "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n")
		line(r) // S STARTTLS
		fmt.Fprint(w, "S OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
		_, _ = r.ReadByte() // until the client closes
	})
	_, err := Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "data after the server's OK") || IsTemporary(err) {
		t.Fatalf("Dial() = %v, want a permanent refusal of the injected data", err)
	}
	for _, l := range <-got {
		if strings.Contains(l, "LOGIN") || strings.Contains(l, "AUTHENTICATE") {
			t.Errorf("client sent %q after the injection", l)
		}
	}
}

// A user or password that cannot be quoted goes as a synchronizing
// literal.
func TestLoginLiteral(t *testing.T) {
	cfg, got := serve(t, mailnet.TLSNone, func(r *bufio.Reader, w net.Conn) {
		fmt.Fprint(w, "* OK [CAPABILITY IMAP4rev1] hi\r\n")
		if l := line(r); !strings.HasSuffix(l, "{6}") {
			fmt.Fprintf(w, "L BAD %q\r\n", l)
			return
		}
		fmt.Fprint(w, "+ go\r\n")
		line(r)
		fmt.Fprint(w, "L OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n")
	})
	cfg.Password = "pä\"ss"
	s, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Dial() = %v", err)
	}
	s.Conn.Close()
	want := []string{`L LOGIN "u" {6}`, "pä\"ss"}
	if lines := <-got; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("client sent %q, want %q", lines, want)
	}
	if !s.Caps.Has(imap.CapUIDPlus) {
		t.Errorf("Caps = %v, want those of the login's OK", s.Caps)
	}
}

// A refused login wraps mailnet.ErrAuth and never shows the password; an
// [UNAVAILABLE] one is temporary.
func TestLoginErrors(t *testing.T) {
	for code, wantAuth := range map[string]bool{"AUTHENTICATIONFAILED": true, "UNAVAILABLE": false} {
		cfg, _ := serve(t, mailnet.TLSNone, func(r *bufio.Reader, w net.Conn) {
			fmt.Fprint(w, "* OK hi\r\n")
			line(r) // C CAPABILITY
			fmt.Fprint(w, "* CAPABILITY IMAP4rev1\r\nC OK done\r\n")
			l := line(r)
			fmt.Fprintf(w, "L NO [%s] no: %s\r\n", code, l)
		})
		cfg.Password = "s3cret"
		_, err := Dial(context.Background(), cfg)
		if errors.Is(err, mailnet.ErrAuth) != wantAuth || IsTemporary(err) == wantAuth {
			t.Errorf("[%s]: Dial() = %v, want ErrAuth %v", code, err, wantAuth)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("[%s]: error %q shows the password", code, err)
		}
	}
}

// go-imap takes a session over as authenticated, with its capabilities,
// and goes on on the same connection.
func TestHandover(t *testing.T) {
	cfg, _ := serve(t, mailnet.TLSNone, func(r *bufio.Reader, w net.Conn) {
		fmt.Fprint(w, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
		line(r)
		fmt.Fprint(w, "+ \r\n")
		line(r)
		fmt.Fprint(w, "L OK [CAPABILITY IMAP4rev1 UIDPLUS LITERAL+] in\r\n")
		tag, _, _ := strings.Cut(line(r), " ") // NOOP
		fmt.Fprintf(w, "%s OK noop done\r\n", tag)
		line(r)
	})
	s, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Dial() = %v", err)
	}
	c := imapclient.New(s.Handover(), nil)
	defer c.Close()
	if caps := c.Caps(); !caps.Has(imap.CapIMAP4rev1) || !caps.Has(imap.CapLiteralPlus) {
		t.Errorf("go-imap Caps() = %v, want the session's", caps)
	}
	if st := c.State(); st != imap.ConnStateAuthenticated {
		t.Errorf("go-imap State() = %v, want authenticated", st)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Errorf("NOOP after the handover = %v", err)
	}
}
