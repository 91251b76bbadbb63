package imap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/retry"
	"github.com/mailferry/mailferry/target"
)

// Microsoft 365's broken session: the connection is dropped, a new one
// logs in, and the message goes again.
func TestFakeM365NotConnectedReconnects(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	tg := newFakeTarget(t, f, 1, 5*time.Second)
	f.setAction(func(n int) (appendAction, string) {
		if n == 0 {
			return appendNoAfter, "User is authenticated but not connected."
		}
		return appendOK, ""
	})
	logins := f.logins.Load()
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("Append() = %v, want the message sent on a new connection", err)
	}
	if got := f.appends.Load(); got != 2 {
		t.Errorf("%d APPENDs, want 2", got)
	}
	if got := f.logins.Load() - logins; got != 1 {
		t.Errorf("%d new logins, want 1 (the broken connection replaced)", got)
	}
}

// When it persists, the error is temporary (the engine retries later),
// not a refusal of the message.
func TestFakeM365NotConnectedTemporary(t *testing.T) {
	for _, text := range []string{"User is authenticated but not connected.", "Server Unavailable. 15"} {
		f := newFakeServer(t, fakeCaps)
		tg := newFakeTarget(t, f, 1, 5*time.Second)
		f.always(appendNoBefore, text)
		_, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n"))
		if !isTemp(err) || errors.Is(err, target.ErrRejected) {
			t.Errorf("%q: Append() = %v, want a temporary error", text, err)
		}
	}
}

// "Suggested Backoff Time": the wait asked for (capped), then the same
// message again.
func TestFakeM365Backoff(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	tg := newFakeTarget(t, f, 1, 5*time.Second)
	var waits []time.Duration
	tg.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	f.setAction(func(n int) (appendAction, string) {
		switch n {
		case 0:
			return appendNoBefore, "Request is throttled. Suggested Backoff Time: 2500 milliseconds"
		case 1:
			return appendNoAfter, "Request is throttled. Suggested Backoff Time: 99999999999 milliseconds"
		}
		return appendOK, ""
	})
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("Append() = %v", err)
	}
	want := []time.Duration{2500 * time.Millisecond, maxBackoff}
	if len(waits) != 2 || waits[0] != want[0] || waits[1] != want[1] {
		t.Errorf("waits %v, want %v", waits, want)
	}

	// Always throttled: bounded waits, then a temporary error.
	waits = nil
	f.always(appendNoBefore, "Suggested Backoff Time: 10 milliseconds")
	_, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n"))
	if !isTemp(err) || len(waits) != maxBackoffs {
		t.Errorf("Append() = %v after %d waits, want temporary after %d", err, len(waits), maxBackoffs)
	}

	// A cancelled wait returns the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	tg.sleep = func(ctx context.Context, d time.Duration) error { cancel(); return retry.Sleep(ctx, d) }
	if _, err := tg.Append(ctx, "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: Append() = %v", err)
	}
}

// A provider's size cap: a message over it fails alone, unsent, named
// with its size and the cap.
func TestFakeMaxMessageSize(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	tg, err := New(context.Background(), Options{Addr: f.addr, TLS: TLSNone, Username: f.user, Password: f.pass,
		Connections: 1, MaxMessageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	_, err = tg.Append(context.Background(), "INBOX", msgOf("Subject: big\r\n\r\nmore than twenty\r\n"))
	if !errors.Is(err, target.ErrRejected) || !strings.Contains(err.Error(), "34 octets, over the provider's limit of 20") {
		t.Errorf("Append(big) = %v, want rejected with the sizes", err)
	}
	if f.appends.Load() != 0 {
		t.Errorf("the big message was sent")
	}
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: s\r\n\r\nok\r\n")); err != nil {
		t.Errorf("Append(small) = %v", err)
	}
}

// With LITERAL+ (the pipeline), the broken connection is dropped too and
// the message sent again on a new one.
func TestFakeM365NotConnectedPipelined(t *testing.T) {
	f := newFakeServer(t, fakeCaps+" LITERAL+")
	tg := newFakeTarget(t, f, 1, 5*time.Second)
	if tg.pipe == nil {
		t.Fatal("no pipeline with LITERAL+")
	}
	f.setAction(func(n int) (appendAction, string) {
		if n == 1 {
			return appendNoAfter, "User is authenticated but not connected."
		}
		return appendOK, ""
	})
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err) // the pipelined connection is open
	}
	logins := f.logins.Load()
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("Append() = %v, want the message sent on a new connection", err)
	}
	if got := f.appends.Load(); got != 3 {
		t.Errorf("%d APPENDs, want 3", got)
	}
	if got := f.logins.Load() - logins; got != 1 {
		t.Errorf("%d new logins, want 1 (the broken connection replaced)", got)
	}
}
