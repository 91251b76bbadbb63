package imap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/target"
)

const fakeCaps = "IMAP4rev1 AUTH=PLAIN UIDPLUS"

// newFakeTarget connects a Target to f in clear text.
func newFakeTarget(t *testing.T, f *fakeServer, conns int, timeout time.Duration) *Target {
	t.Helper()
	tg, err := New(context.Background(), Options{
		Addr: f.addr, TLS: TLSNone, Username: f.user, Password: f.pass,
		Connections: conns, Timeout: timeout,
	})
	if err != nil {
		t.Fatalf("New() = %v, want a target", err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return tg
}

func isTemp(err error) bool {
	var te *target.TemporaryError
	return errors.As(err, &te)
}

func TestFakeAppendClassification(t *testing.T) {
	tests := []struct {
		name   string
		act    appendAction
		text   string
		want   error // sentinel, or nil for temporary
		inText string
	}{
		{"overquota before literal", appendNoBefore, "[OVERQUOTA] Quota exceeded (mailbox for user is full)", target.ErrOverQuota, "Quota exceeded"},
		{"toobig before literal", appendNoBefore, "[TOOBIG] Mail too large", target.ErrRejected, "Mail too large"},
		{"limit after literal", appendNoAfter, "[LIMIT] Too many keywords", target.ErrRejected, "Too many keywords"},
		{"plain NO", appendNoAfter, "Message rejected by policy", target.ErrRejected, "rejected by policy"},
		{"unavailable", appendNoBefore, "[UNAVAILABLE] Try again later", nil, "Try again later"},
		{"inuse", appendNoAfter, "[INUSE] Mailbox locked", nil, "Mailbox locked"},
		{"bye", appendBye, "Server shutting down", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, fakeCaps)
			tg := newFakeTarget(t, f, 2, 5*time.Second)
			f.always(tt.act, tt.text)
			_, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: x\r\n\r\nbody\r\n"))
			if err == nil {
				t.Fatalf("Append() = nil error, want %v", tt.want)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Append() = %v, want errors.Is %v", err, tt.want)
			}
			if tt.want != nil && isTemp(err) {
				t.Errorf("Append() = %v is temporary, want permanent", err)
			}
			if tt.want == nil && (!isTemp(err) || errors.Is(err, target.ErrRejected)) {
				t.Errorf("Append() = %v, want a temporary error only", err)
			}
			if !strings.Contains(err.Error(), tt.inText) || !strings.Contains(err.Error(), `"INBOX"`) {
				t.Errorf("Append() = %q, want it to name the folder and hold %q", err, tt.inText)
			}
			// Whatever happened to the connection, the next APPEND works.
			f.always(appendOK, "")
			if uid, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: y\r\n\r\nbody\r\n")); err != nil || uid == 0 {
				t.Errorf("Append() after %s = %d, %v; want a UID", tt.name, uid, err)
			}
		})
	}
}

// A refusal before the "+" makes go-imap close the connection: the
// next command must run on a new one.
func TestFakeRefusedLiteralClosesConnection(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	tg := newFakeTarget(t, f, 1, 5*time.Second)
	f.always(appendNoBefore, "[TOOBIG] Mail too large")
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("x")); !errors.Is(err, target.ErrRejected) {
		t.Fatalf("Append() = %v, want ErrRejected", err)
	}
	f.always(appendOK, "")
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("x")); err != nil {
		t.Fatalf("second Append() = %v, want success", err)
	}
	if got := f.accepted.Load(); got != 2 {
		t.Errorf("connections accepted = %d, want 2 (one replaced)", got)
	}
}

// Dovecot answers [TRYCREATE] before the "+"; the folder is created and
// the APPEND repeated on a fresh connection.
func TestFakeTryCreateBeforeLiteral(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	tg := newFakeTarget(t, f, 1, 5*time.Second)
	f.setAction(func(n int) (appendAction, string) {
		if n == 0 {
			return appendNoBefore, "[TRYCREATE] Mailbox doesn't exist: Archive"
		}
		return appendOK, ""
	})
	uid, err := tg.Append(context.Background(), "Archive", msgOf("x"))
	if err != nil || uid != 2 {
		t.Fatalf("Append() = %d, %v; want UID 2 from the second APPEND", uid, err)
	}
	f.mu.Lock()
	created := f.created["Archive"]
	f.mu.Unlock()
	if !created {
		t.Errorf("CREATE Archive not sent; created %v", f.created)
	}
}

// A folder the server will not create fails the message with a reason
// that says so.
func TestFakeTryCreateRefused(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	f.refuseCreate = "[CANNOT] Mailbox name too long"
	tg := newFakeTarget(t, f, 1, 5*time.Second)
	f.always(appendNoBefore, "[TRYCREATE] Mailbox doesn't exist: Archive")
	_, err := tg.Append(context.Background(), "Archive", msgOf("x"))
	if !errors.Is(err, target.ErrRejected) || !strings.Contains(err.Error(), "cannot create the folder") ||
		!strings.Contains(err.Error(), "Mailbox name too long") {
		t.Fatalf("Append() = %v, want a rejection saying the folder could not be created, and why", err)
	}
}

func TestFakeWatchdog(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	const timeout = 300 * time.Millisecond
	tg := newFakeTarget(t, f, 1, timeout)
	f.always(appendHang, "")
	start := time.Now()
	_, err := tg.Append(context.Background(), "INBOX", msgOf("Subject: hang\r\n\r\nx\r\n"))
	elapsed := time.Since(start)
	if !isTemp(err) || !errors.Is(err, errTimeout) {
		t.Fatalf("Append() = %v, want a temporary timeout", err)
	}
	if elapsed < timeout-50*time.Millisecond || elapsed > timeout+time.Second {
		t.Errorf("Append() took %v, want about %v", elapsed, timeout)
	}
	if got := f.appends.Load(); got != 1 {
		t.Errorf("APPENDs sent = %d, want 1 (no retry after a timeout)", got)
	}
	f.always(appendOK, "")
	if uid, err := tg.Append(context.Background(), "INBOX", msgOf("x")); err != nil || uid == 0 {
		t.Fatalf("Append() after timeout = %d, %v; want success on a new connection", uid, err)
	}
	if got := f.accepted.Load(); got != 2 {
		t.Errorf("connections accepted = %d, want 2", got)
	}
}

func TestFakeContextCancel(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	tg := newFakeTarget(t, f, 1, 30*time.Second)
	f.always(appendHang, "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := tg.Append(ctx, "INBOX", msgOf("x"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Append() = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Append() returned after %v, want promptly after cancel", elapsed)
	}
}

// With every connection busy, a call waits for one and gives up when its
// context ends.
func TestFakePoolWaitRespectsContext(t *testing.T) {
	f := newFakeServer(t, fakeCaps)
	tg := newFakeTarget(t, f, 1, 30*time.Second)
	f.always(appendHang, "")
	hung, cancelHung := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := tg.Append(hung, "INBOX", msgOf("x"))
		done <- err
	}()
	deadline := time.Now().Add(2 * time.Second)
	for f.appends.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tg.Append(ctx, "INBOX", msgOf("y"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append() with a busy pool = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Append() waited %v, want about 100ms", elapsed)
	}
	cancelHung()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("hung Append() = %v, want context.Canceled", err)
	}
}

func TestFakeLoginWithoutAuthPlain(t *testing.T) {
	f := newFakeServer(t, "IMAP4rev1 UIDPLUS")
	tg := newFakeTarget(t, f, 1, 5*time.Second)
	if got := f.authUsed.Load(); got != "LOGIN" {
		t.Errorf("auth command = %v, want LOGIN", got)
	}
	if !tg.Caps().Has("UIDPLUS") {
		t.Errorf("Caps() = %v, want UIDPLUS", tg.Caps())
	}
	f2 := newFakeServer(t, fakeCaps)
	newFakeTarget(t, f2, 1, 5*time.Second)
	if got := f2.authUsed.Load(); got != "AUTHENTICATE" {
		t.Errorf("auth command = %v, want AUTHENTICATE", got)
	}
}

func TestFakeWrongPassword(t *testing.T) {
	for _, caps := range []string{fakeCaps, "IMAP4rev1"} {
		f := newFakeServer(t, caps)
		_, err := New(context.Background(), Options{Addr: f.addr, TLS: TLSNone, Username: "u", Password: "s3cret-pw"})
		if !errors.Is(err, target.ErrAuth) {
			t.Errorf("New(%s) = %v, want ErrAuth", caps, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("New(%s) error %q shows the password", caps, err)
		}
	}
}

// A server that never greets is cut off by the dial watchdog.
func TestDialTimeout(t *testing.T) {
	ln := listenSilent(t)
	start := time.Now()
	_, err := New(context.Background(), Options{Addr: ln, TLS: TLSNone, Username: "u", Password: "p", Timeout: 200 * time.Millisecond})
	if !isTemp(err) {
		t.Errorf("New() = %v, want a temporary error", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("New() took %v, want about 200ms", elapsed)
	}
}
