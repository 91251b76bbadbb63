package imap

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/target"
)

func TestStatus(t *testing.T) {
	_, tg := newTestTarget(t, 1)
	ctx := context.Background()
	before, err := tg.Status(ctx, "INBOX")
	if err != nil || before.Messages != 0 || before.UIDNext == 0 {
		t.Fatalf("Status(INBOX) = %+v, %v; want 0 messages and a next UID", before, err)
	}
	mustAppend(t, tg, "INBOX", []byte("Subject: one\r\n\r\nx\r\n"))
	after, err := tg.Status(ctx, "INBOX")
	if err != nil || after.Messages != 1 || after.UIDNext <= before.UIDNext {
		t.Fatalf("Status(INBOX) after an APPEND = %+v, %v; want 1 message and a higher next UID than %d", after, err, before.UIDNext)
	}
	if st, err := tg.Status(ctx, "Missing"); err != nil || st != (target.FolderStatus{}) {
		t.Fatalf("Status(Missing) = %+v, %v; want the zero status and nil", st, err)
	}
	// The connection is still usable after the NO to STATUS Missing.
	mustAppend(t, tg, "INBOX", []byte("Subject: two\r\n\r\ny\r\n"))
}
