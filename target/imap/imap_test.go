package imap

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

const (
	testUser = "alice"
	testPass = "correct horse battery"
)

// newTestTarget starts an imaptest server and a clear-text Target for it.
func newTestTarget(t *testing.T, conns int) (*imaptest.Server, *Target) {
	t.Helper()
	srv := imaptest.NewServer(t, testUser, testPass)
	tg, err := New(context.Background(), Options{
		Addr: srv.Addr, TLS: TLSNone, Username: testUser, Password: testPass,
		Connections: conns, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("New() = %v, want a target", err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return srv, tg
}

// mustAppend appends body to folder and returns the UID.
func mustAppend(t *testing.T, tg *Target, folder string, body []byte) uint32 {
	t.Helper()
	uid, err := tg.Append(context.Background(), folder, target.Message{Body: bytes.NewReader(body), Size: int64(len(body))})
	if err != nil {
		t.Fatalf("Append(%q) = %v, want success", folder, err)
	}
	return uid
}

// mustMessages reads folder back from the server.
func mustMessages(t *testing.T, srv *imaptest.Server, folder string) [][]byte {
	t.Helper()
	got, err := srv.Messages(folder)
	if err != nil {
		t.Fatalf("Messages(%q) = %v", folder, err)
	}
	return got
}

func TestAppendExactBytesAndUIDs(t *testing.T) {
	srv, tg := newTestTarget(t, 2)
	eight := []byte("Subject: =?x?= caf\xe9 \xff\xfe\r\n\r\n8-bit: \x80\x81\xc3\xa9\r\n")
	bareLF := []byte("Subject: lf\n\nline one\nline two\r\nmixed\rCR only\n")
	longLine := append([]byte("Subject: long\r\n\r\n"), bytes.Repeat([]byte("x"), 1<<20)...)
	longLine = append(longLine, "\r\n"...)
	big := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 5<<20/64)...)
	small := []byte("Subject: small\r\n\r\nhi\r\n")
	empty := []byte{}
	want := [][]byte{small, eight, bareLF, longLine, big, empty}
	var last uint32
	for i, body := range want {
		uid := mustAppend(t, tg, "INBOX", body)
		if uid <= last {
			t.Errorf("Append #%d UID = %d, want > %d", i, uid, last)
		}
		last = uid
	}
	got := mustMessages(t, srv, "INBOX")
	if len(got) != len(want) {
		t.Fatalf("INBOX holds %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("message %d: got %d octets, want %d identical octets", i, len(got[i]), len(want[i]))
		}
	}
}

func TestAppendKeepsFlagsAndDate(t *testing.T) {
	srv, tg := newTestTarget(t, 1)
	date := time.Date(2001, 2, 3, 4, 5, 6, 0, time.FixedZone("", 3600))
	body := []byte("Subject: flags\r\n\r\nx\r\n")
	msg := target.Message{
		Body: bytes.NewReader(body), Size: int64(len(body)),
		Flags: []string{`\Seen`, `\Flagged`, `$Label1`, `\Recent`}, Date: date,
	}
	if _, err := tg.Append(context.Background(), "INBOX", msg); err != nil {
		t.Fatalf("Append() = %v", err)
	}
	plain := mustAppend(t, tg, "INBOX", body)
	msgs, err := srv.Fetch("INBOX")
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Fetch() = %d messages, %v; want 2", len(msgs), err)
	}
	for _, f := range []string{`\Seen`, `\Flagged`, `$Label1`} {
		if !slices.ContainsFunc(msgs[0].Flags, func(g string) bool { return strings.EqualFold(f, g) }) {
			t.Errorf("flags = %v, want %s", msgs[0].Flags, f)
		}
	}
	if !msgs[0].Date.Equal(date) {
		t.Errorf("internal date = %v, want %v", msgs[0].Date, date)
	}
	if msgs[1].UID != plain || len(msgs[1].Flags) != 0 {
		t.Errorf("plain message = UID %d flags %v, want UID %d and no flags", msgs[1].UID, msgs[1].Flags, plain)
	}
}

func TestAppendTryCreate(t *testing.T) {
	srv, tg := newTestTarget(t, 1)
	body := []byte("Subject: archived\r\n\r\nold\r\n")
	uid := mustAppend(t, tg, "Archive/2020", body)
	if uid == 0 {
		t.Errorf("Append() UID = 0, want one from APPENDUID")
	}
	got := mustMessages(t, srv, "Archive/2020")
	if len(got) != 1 || !bytes.Equal(got[0], body) {
		t.Errorf("Archive/2020 = %q, want [%q]", got, body)
	}
}

func TestEnsureFolder(t *testing.T) {
	srv, tg := newTestTarget(t, 1)
	ctx := context.Background()
	for range 2 {
		if err := tg.EnsureFolder(ctx, "Projects"); err != nil {
			t.Fatalf("EnsureFolder() = %v", err)
		}
	}
	if err := srv.CreateFolder("Existing"); err != nil {
		t.Fatal(err)
	}
	if err := tg.EnsureFolder(ctx, "Existing"); err != nil {
		t.Errorf("EnsureFolder(existing) = %v", err)
	}
	if err := tg.EnsureFolder(ctx, "INBOX"); err != nil {
		t.Errorf("EnsureFolder(INBOX) = %v", err)
	}
	if got := mustMessages(t, srv, "Projects"); len(got) != 0 {
		t.Errorf("Projects holds %d messages, want 0", len(got))
	}
}

func TestIndex(t *testing.T) {
	srv, tg := newTestTarget(t, 1)
	bodies := []string{
		"Message-ID: <plain@example.org>\r\nSubject: a\r\n\r\nA\r\n",
		"Subject: b\r\nMessage-ID:\r\n  <folded@example.org>\r\n\r\nB\r\n",
		"Subject: c\r\n\r\nno id\r\n",
		"message-id: <lower@example.org>  \r\n\r\nD\r\n",
	}
	want := []string{"<plain@example.org>", "<folded@example.org>", "", "<lower@example.org>"}
	var uids []uint32
	for _, b := range bodies {
		uids = append(uids, mustAppend(t, tg, "INBOX", []byte(b)))
	}
	got, err := tg.Index(context.Background(), "INBOX")
	if err != nil || len(got) != len(bodies) {
		t.Fatalf("Index() = %v, %v; want %d entries", got, err, len(bodies))
	}
	for i, e := range got {
		w := target.Entry{UID: uids[i], MessageID: want[i], Size: int64(len(bodies[i]))}
		if e != w {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	msgs, _ := srv.Fetch("INBOX")
	for _, m := range msgs {
		if len(m.Flags) != 0 {
			t.Errorf("UID %d flags = %v after Index, want none (PEEK)", m.UID, m.Flags)
		}
	}
}

func TestIndexEmptyAndMissing(t *testing.T) {
	srv, tg := newTestTarget(t, 1)
	if err := srv.CreateFolder("Empty"); err != nil {
		t.Fatal(err)
	}
	for _, folder := range []string{"Empty", "Missing", "INBOX"} {
		got, err := tg.Index(context.Background(), folder)
		if got != nil || err != nil {
			t.Errorf("Index(%q) = %v, %v; want nil, nil", folder, got, err)
		}
	}
	// The connection is still usable after the NO to EXAMINE Missing.
	mustAppend(t, tg, "INBOX", []byte("x"))
}

func TestFetch(t *testing.T) {
	_, tg := newTestTarget(t, 1)
	ctx := context.Background()
	first := []byte("Subject: one\r\n\r\n\xe9\xff bytes\nbare\r\n")
	uid1 := mustAppend(t, tg, "INBOX", first)
	got, err := tg.Fetch(ctx, "INBOX", uid1)
	if err != nil || !bytes.Equal(got, first) {
		t.Fatalf("Fetch(%d) = %q, %v; want %q", uid1, got, err, first)
	}
	// A message appended after the folder was selected is still found.
	second := []byte("Subject: two\r\n\r\n2\r\n")
	uid2 := mustAppend(t, tg, "INBOX", second)
	if got, err := tg.Fetch(ctx, "INBOX", uid2); err != nil || !bytes.Equal(got, second) {
		t.Errorf("Fetch(%d) = %q, %v; want %q", uid2, got, err, second)
	}
	if _, err := tg.Fetch(ctx, "INBOX", 999); !errors.Is(err, ErrNotFound) || isTemp(err) {
		t.Errorf("Fetch(999) = %v, want ErrNotFound", err)
	}
	if _, err := tg.Fetch(ctx, "Missing", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Fetch(Missing) = %v, want ErrNotFound", err)
	}
}

func TestWrongPassword(t *testing.T) {
	srv := imaptest.NewServer(t, testUser, testPass)
	const wrong = "Tr0ub4dor&3-wrong"
	_, err := New(context.Background(), Options{Addr: srv.Addr, TLS: TLSNone, Username: testUser, Password: wrong})
	if !errors.Is(err, target.ErrAuth) {
		t.Fatalf("New() = %v, want ErrAuth", err)
	}
	if isTemp(err) {
		t.Errorf("New() = %v is temporary, want permanent", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("New() error %q shows the password", err)
	}
}

func TestTLSModes(t *testing.T) {
	srv := imaptest.NewServer(t, testUser, testPass)
	trusted := &tls.Config{RootCAs: srv.CertPool()}
	tests := []struct {
		name string
		addr string
		mode TLSMode
		cfg  *tls.Config
		ok   bool
	}{
		{"implicit trusted", srv.TLSAddr, TLSImplicit, trusted, true},
		{"starttls trusted", srv.Addr, TLSStartTLS, trusted, true},
		{"implicit untrusted", srv.TLSAddr, TLSImplicit, nil, false},
		{"starttls untrusted", srv.Addr, TLSStartTLS, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := New(context.Background(), Options{Addr: tt.addr, TLS: tt.mode, TLSConfig: tt.cfg, Username: testUser, Password: testPass, Timeout: 5 * time.Second})
			if !tt.ok {
				var verr *tls.CertificateVerificationError
				if !errors.As(err, &verr) || isTemp(err) || errors.Is(err, target.ErrAuth) {
					t.Fatalf("New() = %v, want a certificate verification error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			defer tg.Close()
			if !tg.Caps().Has("UIDPLUS") {
				t.Errorf("Caps() = %v, want UIDPLUS", tg.Caps())
			}
			mustAppend(t, tg, "INBOX", []byte("Subject: tls\r\n\r\nx\r\n"))
		})
	}
}

func TestStartTLSRefusedWhenNotOffered(t *testing.T) {
	f := newFakeServer(t, fakeCaps) // answers STARTTLS with NO
	_, err := New(context.Background(), Options{Addr: f.addr, TLS: TLSStartTLS, Username: f.user, Password: f.pass})
	if err == nil {
		t.Fatalf("New() = nil error, want STARTTLS refused")
	}
	if got := f.logins.Load(); got != 0 {
		t.Errorf("logins in clear text = %d, want 0", got)
	}
}

func TestConcurrentAppends(t *testing.T) {
	srv, tg := newTestTarget(t, 4)
	const workers, each = 16, 8
	var wg sync.WaitGroup
	uids := make(chan uint32, workers*each)
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Some bodies over 4 KiB, to use synchronizing literals.
				body := fmt.Sprintf("Message-ID: <%d.%d@test>\r\n\r\n%s\r\n", w, i, strings.Repeat("z", (w%2)*5000))
				uid, err := tg.Append(context.Background(), "INBOX", msgOf(body))
				if err != nil {
					errs <- err
					continue
				}
				uids <- uid
			}
		}()
	}
	wg.Wait()
	close(uids)
	close(errs)
	for err := range errs {
		t.Errorf("Append() = %v", err)
	}
	seen := map[uint32]bool{}
	for uid := range uids {
		if seen[uid] {
			t.Errorf("UID %d returned twice", uid)
		}
		seen[uid] = true
	}
	if n := srv.OpenConnections(); n > 4 {
		t.Errorf("server holds %d connections, want at most 4", n)
	}
	got := mustMessages(t, srv, "INBOX")
	if len(got) != workers*each {
		t.Fatalf("INBOX holds %d messages, want %d", len(got), workers*each)
	}
	ids := map[string]int{}
	for _, b := range got {
		ids[messageID(b)]++
	}
	for w := range workers {
		for i := range each {
			if id := fmt.Sprintf("<%d.%d@test>", w, i); ids[id] != 1 {
				t.Errorf("%s stored %d times, want 1", id, ids[id])
			}
		}
	}
}

// A connection the server dropped is replaced on the next call.
func TestReconnectAfterServerDrop(t *testing.T) {
	srv, tg := newTestTarget(t, 1)
	mustAppend(t, tg, "INBOX", []byte("Subject: before\r\n\r\n1\r\n"))
	if n := srv.DropConnections(); n != 1 {
		t.Fatalf("DropConnections() = %d, want 1", n)
	}
	// Over 4 KiB: a synchronizing literal, which cannot be stored
	// unless the server answered "+".
	after := []byte("Subject: after\r\n\r\n" + strings.Repeat("y", 10000) + "\r\n")
	mustAppend(t, tg, "INBOX", after)
	if _, err := tg.Index(context.Background(), "INBOX"); err != nil {
		t.Errorf("Index() after reconnect = %v", err)
	}
	srv.DropConnections()
	if got, err := tg.Index(context.Background(), "INBOX"); err != nil || len(got) != 2 {
		t.Errorf("Index() after a second drop = %d entries, %v; want 2", len(got), err)
	}
	if got := mustMessages(t, srv, "INBOX"); len(got) != 2 || !bytes.Equal(got[1], after) {
		t.Errorf("INBOX holds %d messages, want 2 with the second intact", len(got))
	}
}

func TestClose(t *testing.T) {
	_, tg := newTestTarget(t, 2)
	mustAppend(t, tg, "INBOX", []byte("x"))
	start := time.Now()
	if err := tg.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Close() took %v", elapsed)
	}
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("y")); err == nil {
		t.Errorf("Append() after Close = nil error, want one")
	}
}

func TestAppendShortBody(t *testing.T) {
	_, tg := newTestTarget(t, 1)
	msg := target.Message{Body: bytes.NewReader([]byte("short")), Size: 100}
	_, err := tg.Append(context.Background(), "INBOX", msg)
	if err == nil || isTemp(err) {
		t.Fatalf("Append(short body) = %v, want a permanent error", err)
	}
	mustAppend(t, tg, "INBOX", []byte("next"))
}

// imapmemserver refuses after the literal; the connection survives.
func TestAppendHookClassification(t *testing.T) {
	srv, tg := newTestTarget(t, 1)
	srv.SetAppendHook(func(string, int64) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded"}
	})
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("x")); !errors.Is(err, target.ErrOverQuota) {
		t.Errorf("Append() = %v, want ErrOverQuota", err)
	}
	srv.SetAppendHook(func(string, int64) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Too big"}
	})
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("x")); !errors.Is(err, target.ErrRejected) {
		t.Errorf("Append() = %v, want ErrRejected", err)
	}
	srv.SetAppendHook(nil)
	if n := srv.OpenConnections(); n != 1 {
		t.Errorf("server holds %d connections, want the one that survived", n)
	}
	mustAppend(t, tg, "INBOX", []byte("y"))
}
