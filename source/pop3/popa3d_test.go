package pop3_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/popa3dtest"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
)

// TestPopa3dSharedUIDLs reads a popa3d maildrop whose messages have no
// Date, Received or Message-ID: popa3d gives them all one UIDL. Each is
// listed under its own ID (the UIDL and a hash of its bytes) and opened
// byte for byte; a byte-identical copy is listed once. Named by the UIDL
// alone, every message after the first would be taken for done.
func TestPopa3dSharedUIDLs(t *testing.T) {
	srv := popa3dtest.Start(t, popa3dtest.Options{})
	var msgs [][]byte
	for i := range 3 {
		msgs = append(msgs, []byte(fmt.Sprintf("From: a@example.org\r\nSubject: bare %d\r\n\r\nno date, no id, body %d\r\n", i, i)))
	}
	msgs = append(msgs, msgs[1], []byte("From: a@example.org\r\nMessage-ID: <ok@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nnormal\r\n"))
	srv.Seed(t, srv.Users[0].Name, msgs)
	ctx := context.Background()
	src, err := pop3.Dial(ctx, pop3.Options{Addr: srv.POP3Addr, TLS: pop3.TLSNone,
		Username: srv.Users[0].Name, Password: srv.Users[0].Password})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var refs []source.Ref
	if err := src.List(ctx, func(r source.Ref) error { refs = append(refs, r); return nil }); err != nil {
		t.Fatalf("List() = %v", err)
	}
	if len(refs) != 4 {
		t.Fatalf("listed %d messages (%v), want 4: three bare ones and the normal one", len(refs), refs)
	}
	ids := map[string]bool{}
	for i, r := range refs {
		if ids[r.ID] {
			t.Errorf("ID %q listed twice", r.ID)
		}
		ids[r.ID] = true
		rc, err := src.Open(ctx, r)
		if err != nil {
			t.Fatalf("Open(%q) = %v", r.ID, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		want := msgs[i]
		if i == 3 {
			want = msgs[4]
		}
		if err != nil || string(got) != string(want) {
			t.Errorf("message %d (%q) = %q, %v; want %q", i, r.ID, got, err, want)
		}
		if bare := i < 3; bare != strings.Contains(r.ID, "#sha256:") {
			t.Errorf("message %d has ID %q", i, r.ID)
		}
	}
}
