package migrate_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mailferry/mailferry/migrate/identity"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

func identityOf(m []byte) identity.ID { return identity.Of(m) }

// seedTarget appends messages straight into the rig's IMAP INBOX.
func seedTarget(t *testing.T, r *rig, msgs ...[]byte) {
	t.Helper()
	tgt, err := imap.New(context.Background(), imap.Options{Addr: r.imap.Addr, TLS: imap.TLSNone,
		Username: "u", Password: "imap-secret", Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	for _, m := range msgs {
		if _, err := tgt.Append(context.Background(), "INBOX", target.Message{Body: bytes.NewReader(m), Size: int64(len(m))}); err != nil {
			t.Fatal(err)
		}
	}
}
