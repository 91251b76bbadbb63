package imap_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// TestFetchLiteral8FromCyrus: Cyrus 3.6 serves a message stored with NUL
// over BODY.PEEK[] as a literal8 ("BODY[] ~{n}"), which go-imap cannot
// parse. Fetch returns its exact bytes all the same, and those of a plain
// message beside it, on one connection (Connections 1: the raw read takes
// the pooled connection's place), again and again; Index lists both.
func TestFetchLiteral8FromCyrus(t *testing.T) {
	srv := cyrustest.Start(t, cyrustest.Options{})
	u := srv.Users[0]
	ctx := context.Background()
	tgt, err := imap.New(ctx, imap.Options{Addr: srv.IMAPAddr, TLS: imap.TLSNone, Username: u.Name,
		Password: u.Password, Connections: 1, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	plain := []byte("From: a@example.org\r\nMessage-ID: <plain@example.org>\r\nSubject: plain\r\n\r\nno NUL here\r\n")
	msgs := [][]byte{nulMessage(1), plain, nulMessage(2)}
	uids := make([]uint32, len(msgs))
	for i, m := range msgs {
		uids[i], err = tgt.Append(ctx, "INBOX", target.Message{Body: bytes.NewReader(m), Size: int64(len(m))})
		if err != nil || uids[i] == 0 {
			t.Fatalf("Append(%d) = UID %d, %v; want a UID", i, uids[i], err)
		}
	}
	for round := range 2 {
		for i, m := range msgs {
			got, err := tgt.Fetch(ctx, "INBOX", uids[i])
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("round %d: Fetch(UID %d) = %q, %v; want %q", round, uids[i], got, err, m)
			}
		}
	}
	if got, err := tgt.Fetch(ctx, "INBOX", uids[2]+1); !errors.Is(err, target.ErrNotFound) {
		t.Errorf("Fetch(UID %d) = %q, %v; want ErrNotFound", uids[2]+1, got, err)
	}
	entries, err := tgt.Index(ctx, "INBOX")
	if err != nil || len(entries) != len(msgs) {
		t.Fatalf("Index() = %+v, %v; want %d entries", entries, err, len(msgs))
	}
	for i, e := range entries {
		if e.UID != uids[i] || e.Size != int64(len(msgs[i])) || e.MessageID == "" {
			t.Errorf("Index()[%d] = %+v, want UID %d, size %d and a Message-ID", i, e, uids[i], len(msgs[i]))
		}
	}
}
