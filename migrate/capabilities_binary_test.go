package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// nulMsg is a message whose body holds NUL octets.
var nulMsg = []byte("From: a@example.org\r\nMessage-ID: <nul@example.org>\r\nSubject: nul\r\n\r\nbefore\x00after\r\n")

// appendThrough appends nulMsg to folder of addr with Pipeline pipeline.
func appendThrough(t *testing.T, addr, user, pass, folder string, pipeline int) (uint32, error) {
	t.Helper()
	ctx := context.Background()
	tgt, err := imap.New(ctx, imap.Options{Addr: addr, TLS: imap.TLSNone, Username: user, Password: pass,
		Connections: 2, Pipeline: pipeline, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	return tgt.Append(ctx, folder, target.Message{Body: bytes.NewReader(nulMsg), Size: int64(len(nulMsg))})
}

// TestCyrusNULWithoutBinary: Cyrus 3.6 refuses NUL in a plain literal ("NO
// Message contains NUL characters"). With BINARY hidden by the proxy, the
// message is refused alone, as target.ErrRejected, with a reason that
// names NUL and BINARY, on both APPEND paths; with BINARY announced, it
// goes as a literal8 and is stored.
func TestCyrusNULWithoutBinary(t *testing.T) {
	srv := cyrustest.Start(t, cyrustest.Options{})
	u := srv.Users[0]
	for _, pipeline := range []int{0, 1} {
		hidden := newCapsProxy(t, srv.IMAPAddr, []string{"BINARY"})
		_, err := appendThrough(t, hidden.addr(), u.Name, u.Password, "INBOX", pipeline)
		if !errors.Is(err, target.ErrRejected) || !strings.Contains(err.Error(), "NUL") ||
			!strings.Contains(err.Error(), "does not announce BINARY") {
			t.Errorf("pipeline %d, BINARY hidden: Append() = %v, want a rejection naming NUL and BINARY", pipeline, err)
		}
		shown := newCapsProxy(t, srv.IMAPAddr, nil)
		if uid, err := appendThrough(t, shown.addr(), u.Name, u.Password, "INBOX", pipeline); err != nil || uid == 0 {
			t.Errorf("pipeline %d, BINARY announced: Append() = UID %d, %v; want stored", pipeline, uid, err)
		}
		for _, p := range []*capsProxy{hidden, shown} {
			if misuse, _, _, _, _, _ := p.report(); len(misuse) > 0 {
				t.Errorf("pipeline %d: %q", pipeline, misuse)
			}
		}
		if _, _, _, _, _, lit8 := shown.report(); lit8 != 1 {
			t.Errorf("pipeline %d: %d literal8 sent, want 1", pipeline, lit8)
		}
	}
}

// TestDovecotNULAsBinary: Dovecot announces BINARY after login and stores
// NUL from a plain literal as well as from a literal8 (serving it as 0x80
// over BODY[]); where announced, a message holding NUL goes as a literal8,
// on both APPEND paths.
func TestDovecotNULAsBinary(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{})
	for _, pipeline := range []int{0, 1} {
		p := newCapsProxy(t, dc.IMAPAddr, nil)
		if uid, err := appendThrough(t, p.addr(), "alice", "alice-secret", "INBOX", pipeline); err != nil || uid == 0 {
			t.Fatalf("pipeline %d: Append() = UID %d, %v; want stored", pipeline, uid, err)
		}
		if _, _, _, _, _, lit8 := p.report(); lit8 != 1 {
			t.Errorf("pipeline %d: %d literal8 sent, want 1", pipeline, lit8)
		}
	}
	want := bytes.ReplaceAll(nulMsg, []byte{0}, []byte{0x80})
	for _, m := range dc.Fetch(t, "alice", "INBOX") {
		if !bytes.Equal(m.Body, want) {
			t.Errorf("Dovecot holds %q, want %q", m.Body, want)
		}
	}
}
