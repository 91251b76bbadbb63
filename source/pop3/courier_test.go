package pop3_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/mailferry/mailferry/internal/couriertest"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
)

// TestCourierUTF8 reads a courier-pop maildrop holding a message with raw
// UTF-8 in its header fields. Courier announces UTF8 (RFC 6856) and, to a
// client that did not send UTF8, serves a substitute it makes up ("Cannot
// display Unicode content", the original attached). The source turns UTF-8
// mode on and gets the message as stored.
func TestCourierUTF8(t *testing.T) {
	srv := couriertest.Start(t, couriertest.Options{})
	u := srv.Users[0]
	stored := []byte("From: Zoë <zoe@example.org>\nSubject: Réunion à Genève\nMessage-ID: <utf8@example.org>\n\nCafé.\n")
	srv.Seed(t, u.Name, "", [][]byte{stored})
	ctx := context.Background()
	src, err := pop3.Dial(ctx, pop3.Options{Addr: srv.POP3Addr, TLS: pop3.TLSNone, Username: u.Name, Password: u.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var refs []source.Ref
	if err := src.List(ctx, func(r source.Ref) error { refs = append(refs, r); return nil }); err != nil || len(refs) != 1 {
		t.Fatalf("List() = %v, %v; want one message", refs, err)
	}
	rc, err := src.Open(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	want := bytes.ReplaceAll(stored, []byte("\n"), []byte("\r\n"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("RETR gave %.300q, %v; want the stored message %q", got, err, want)
	}
	if !src.UTF8Enabled() {
		t.Errorf("UTF-8 mode not on; capabilities %q", src.Capabilities())
	}
}
