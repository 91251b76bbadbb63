package imap_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// TestDovecotAppendAfterIndexWithoutLiteralPlus: a Dovecot configured
// without LITERAL+ (imap_capability) but with UNSELECT. With one
// connection, Index opens a folder read-only and the APPENDs that follow
// (unpipelined: no LITERAL+) leave it first with UNSELECT alone. Sending
// CLOSE as well made UNSELECT answer "BAD No mailbox selected" and failed
// every APPEND on that connection from then on.
func TestDovecotAppendAfterIndexWithoutLiteralPlus(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Config: "protocol imap {\n  imap_capability = " + dovecottest.CapabilitiesWithoutLiteral + "\n}"})
	u := dovecottest.User{Name: "alice", Password: "alice-secret"}
	dc.Exec(t, "mailbox", "create", "-u", u.Name, "Archive")
	ctx := context.Background()
	tgt, err := imap.New(ctx, imap.Options{Addr: dc.IMAPAddr, TLS: imap.TLSNone, Username: u.Name,
		Password: u.Password, Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	if tgt.Caps().Has(goimap.CapLiteralPlus) || !tgt.Caps().Has(goimap.CapUnselect) {
		t.Fatalf("target caps %v, want UNSELECT and no LITERAL+", tgt.Caps())
	}
	for round, folder := range []string{"Archive", "INBOX", "Archive"} {
		if _, err := tgt.Index(ctx, "Archive"); err != nil {
			t.Fatalf("Index = %v", err)
		}
		for i := range 2 {
			m := []byte(fmt.Sprintf("From: a@example.org\r\nMessage-ID: <r%d-%d@example.org>\r\nSubject: after EXAMINE\r\n\r\nnew\r\n", round, i))
			if _, err := tgt.Append(ctx, folder, target.Message{Body: bytes.NewReader(m), Size: int64(len(m))}); err != nil {
				t.Fatalf("round %d: Append(%q) #%d after Index = %v", round, folder, i, err)
			}
			found := false
			for _, got := range dc.Fetch(t, u.Name, folder) {
				found = found || bytes.Equal(got.Body, m)
			}
			if !found {
				t.Errorf("%s does not hold the appended message byte for byte", folder)
			}
		}
	}
}
