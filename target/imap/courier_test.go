package imap_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mailferry/mailferry/internal/couriertest"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// TestCourierAppendAfterExamine: Courier refuses an APPEND on a connection
// whose selected folder was opened with EXAMINE ("NO Current box is
// selected READ-ONLY"), even into another folder. With one connection,
// Index opens the folder read-only and the APPENDs that follow, into it
// and into INBOX, go through: the target leaves the folder first.
func TestCourierAppendAfterExamine(t *testing.T) {
	srv := couriertest.Start(t, couriertest.Options{})
	u := srv.Users[0]
	old := []byte("From: a@example.org\nMessage-ID: <old@example.org>\nSubject: there before\n\nold\n")
	srv.Seed(t, u.Name, "INBOX.Archive", [][]byte{old})
	ctx := context.Background()
	tgt, err := imap.New(ctx, imap.Options{Addr: srv.IMAPAddr, TLS: imap.TLSNone, Username: u.Name,
		Password: u.Password, Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	for _, folder := range []string{"INBOX.Archive", "INBOX"} {
		entries, err := tgt.Index(ctx, "INBOX.Archive")
		if err != nil || len(entries) == 0 {
			t.Fatalf("Index = %v, %v; want the seeded message", entries, err)
		}
		m := []byte("From: a@example.org\r\nMessage-ID: <new-" + folder + "@example.org>\r\nSubject: after EXAMINE\r\n\r\nnew\r\n")
		if _, err := tgt.Append(ctx, folder, target.Message{Body: bytes.NewReader(m), Size: int64(len(m))}); err != nil {
			t.Fatalf("Append(%q) after EXAMINE = %v", folder, err)
		}
		found := false
		for _, got := range srv.Fetch(t, u.Name, folder) {
			found = found || bytes.Equal(got.Body, m)
		}
		if !found {
			t.Errorf("%s does not hold the appended message byte for byte", folder)
		}
	}
}
