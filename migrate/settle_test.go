package migrate_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// TestSettleWaitsForABusyServer: a killed run left a pending record, and
// the server is still storing what that run sent when the next run starts,
// for longer than Options.Settle. The run waits until the folder stops
// changing, finds the message and appends no second copy.
func TestSettleWaitsForABusyServer(t *testing.T) {
	m := msg("late@x", "stored late by a busy server")
	r := newRig(t, [][]byte{m})
	r.opts.Settle = time.Second
	beginPending(t, r, m, "INBOX")

	// The "busy server": other messages land in INBOX every 100 ms, then,
	// after 1.5 Settles, the killed run's message.
	tgt, err := imap.New(context.Background(), imap.Options{Addr: r.imap.Addr, TLS: imap.TLSNone,
		Username: "u", Password: "imap-secret", Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	stored := make(chan error, 1)
	go func() {
		start := time.Now()
		for i := 0; time.Since(start) < 1500*time.Millisecond; i++ {
			f := []byte(fmt.Sprintf("Subject: other %d\r\n\r\nother mail\r\n", i))
			if _, err := tgt.Append(context.Background(), "INBOX", target.Message{Body: bytes.NewReader(f), Size: int64(len(f))}); err != nil {
				stored <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		_, err := tgt.Append(context.Background(), "INBOX", target.Message{Body: bytes.NewReader(m), Size: int64(len(m))})
		stored <- err
	}()
	rep := r.run()
	if err := <-stored; err != nil {
		t.Fatal(err)
	}
	copies := 0
	for _, got := range r.inbox() {
		if bytes.Equal(got, m) {
			copies++
		}
	}
	if copies != 1 || rep.Recovered != 1 || rep.Copied != 0 {
		t.Fatalf("%d copies in the target, recovered %d, copied %d; want 1, 1, 0", copies, rep.Recovered, rep.Copied)
	}
}
