package pop3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/couriertest"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
)

// courierMaildrop is what the Courier tests store (Maildir files, LF line
// ends): messages with 8-bit header fields, UTF-8 and Latin-1, which
// Courier replaces by a substitute for a client not in UTF-8 mode, and
// messages that look like that substitute or like a bounce but are mail.
var courierMaildrop = []struct {
	name       string
	stored     []byte
	substitute bool // what Courier serves without UTF-8 mode
}{
	{"ascii", []byte("From: a@example.org\nSubject: plain\nMessage-ID: <ascii@example.org>\n\nplain.\n"), false},
	{"utf8", []byte("From: Zoë <zoe@example.org>\nSubject: Réunion à Genève\nMessage-ID: <utf8@example.org>\n\nCafé.\n"), true},
	{"latin1", []byte("From: J\xfcrgen <j@example.org>\nSubject: \xe9t\xe9\n\nno Message-ID\n"), true},
	{"8bit-body", []byte("From: a@example.org\nSubject: body only\nMessage-ID: <body@example.org>\n\nCafé, in the body only.\n"), false},
	{"bounce", []byte("From: Mail Delivery Subsystem <postmaster@mx.example.org>\nTo: a@example.org\n" +
		"Subject: Undelivered Mail Returned to Sender\nDate: Mon, 2 Mar 2026 09:00:00 +0000\n" +
		"Message-ID: <bounce@mx.example.org>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n" +
		"--b1\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.org.\n--b1--\n"), false},
	// A person's message quoting the substitute's first lines: it has a
	// Date and a Message-ID, so it is mail.
	{"lookalike", []byte("From: Mail Delivery Subsystem <postmaster>\nSubject: Cannot display Unicode content\n" +
		"Date: Mon, 2 Mar 2026 09:00:00 +0000\nMessage-ID: <lookalike@example.org>\nMime-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"=_1-2\"\n\n\n\n--=_1-2\nContent-Type: text/plain\n\n" +
		"This E-mail message was determined to be Unicode-formatted\n--=_1-2--\n"), false},
}

func courierStored() [][]byte {
	var msgs [][]byte
	for _, m := range courierMaildrop {
		msgs = append(msgs, m.stored)
	}
	return msgs
}

func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

// dialCourier opens a session on the maildrop of srv's first user.
func dialCourier(t *testing.T, srv *couriertest.Server, opts pop3.Options) (*pop3.Source, []source.Ref) {
	t.Helper()
	u := srv.Users[0]
	opts.Addr, opts.TLS, opts.Username, opts.Password = srv.POP3Addr, pop3.TLSNone, u.Name, u.Password
	src, err := pop3.Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	var refs []source.Ref
	if err := src.List(context.Background(), func(r source.Ref) error { refs = append(refs, r); return nil }); err != nil {
		t.Fatalf("List() = %v", err)
	}
	if len(refs) != len(courierMaildrop) {
		t.Fatalf("List() gave %d messages, want %d", len(refs), len(courierMaildrop))
	}
	return src, refs
}

// TestCourierUTF8 reads a courier-pop maildrop holding messages with raw
// UTF-8 and Latin-1 in their header fields. Courier announces UTF8 (RFC
// 6856) and, to a client that did not send UTF8, serves a substitute it
// makes up ("Cannot display Unicode content", the original attached). The
// source turns UTF-8 mode on and gets every message as stored.
func TestCourierUTF8(t *testing.T) {
	srv := couriertest.Start(t, couriertest.Options{})
	srv.Seed(t, srv.Users[0].Name, "", courierStored())
	src, refs := dialCourier(t, srv, pop3.Options{})
	if !src.UTF8Enabled() {
		t.Errorf("UTF-8 mode not on; capabilities %q", src.Capabilities())
	}
	for i, m := range courierMaildrop {
		rc, err := src.Open(context.Background(), refs[i])
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if want := crlf(m.stored); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: RETR gave %.300q, %v; want the stored message %q", m.name, got, err, want)
		}
	}
}

// TestCourierSubstituteFails reads the same maildrop without UTF-8 mode:
// each message Courier replaces by its substitute fails with a reason
// that says so (source.ErrUnreadable: the run reports it and copies
// nothing of it), every other message, the bounce and the lookalike
// among them, comes back as stored, and the session stays in sync, in a
// pipelined batch and one by one.
func TestCourierSubstituteFails(t *testing.T) {
	srv := couriertest.Start(t, couriertest.Options{})
	srv.Seed(t, srv.Users[0].Name, "", courierStored())
	src, refs := dialCourier(t, srv, pop3.WithoutUTF8(pop3.Options{}))
	if src.UTF8Enabled() {
		t.Fatal("UTF-8 mode on, want it off")
	}
	ctx := context.Background()
	i := 0
	err := src.OpenBatch(ctx, refs, func(ref source.Ref, r io.Reader) error {
		got, err := io.ReadAll(r)
		checkCourierRead(t, "batch", i, got, err)
		i++
		return nil
	})
	if err != nil || i != len(refs) {
		t.Fatalf("OpenBatch() = %v after %d messages, want nil after %d", err, i, len(refs))
	}
	for i, ref := range refs {
		rc, err := src.Open(ctx, ref)
		if err != nil {
			t.Fatalf("Open(%s) = %v", courierMaildrop[i].name, err)
		}
		got, err := io.ReadAll(rc)
		checkCourierRead(t, "open", i, got, err)
		if err := rc.Close(); err != nil {
			t.Fatalf("Close() after %s = %v, want nil", courierMaildrop[i].name, err)
		}
	}
}

// checkCourierRead checks what reading message i of courierMaildrop gave
// without UTF-8 mode.
func checkCourierRead(t *testing.T, how string, i int, got []byte, err error) {
	t.Helper()
	m := courierMaildrop[i]
	if !m.substitute {
		if want := crlf(m.stored); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s %s: read %.200q, %v; want the stored message %q", how, m.name, got, err, want)
		}
		return
	}
	var tmp *source.TemporaryError
	switch {
	case !errors.Is(err, source.ErrUnreadable) || errors.As(err, &tmp):
		t.Errorf("%s %s: read %d bytes (%.120q), error %v; want a permanent error wrapping source.ErrUnreadable",
			how, m.name, len(got), got, err)
	case len(got) > 0:
		t.Errorf("%s %s: read %.120q before the error, want nothing", how, m.name, got)
	case !strings.Contains(err.Error(), `substitute ("Cannot display Unicode content"`) ||
		!strings.Contains(err.Error(), "UTF-8 mode (RFC 6856)"):
		t.Errorf("%s %s: error %q does not say what happened", how, m.name, err)
	}
}
