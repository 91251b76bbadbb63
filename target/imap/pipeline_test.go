package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/target"
)

const fakePlusCaps = fakeCaps + " LITERAL+"

// appendAll runs one Append per body concurrently and returns the results
// in order.
func appendAll(tg *Target, folder string, bodies []string) ([]uint32, []error) {
	uids := make([]uint32, len(bodies))
	errs := make([]error, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uids[i], errs[i] = tg.Append(context.Background(), folder, msgOf(b))
		}()
	}
	wg.Wait()
	return uids, errs
}

func TestPipelineConcurrentExactlyOnce(t *testing.T) {
	srv, tg := newTestTarget(t, 4) // 4 connections: 2 pipelined
	if tg.pipe == nil {
		t.Fatalf("no pipeline with caps %v, want one (LITERAL+)", tg.Caps())
	}
	if got, want := tg.MaxInFlight(), 2*DefaultPipeline; got != want {
		t.Errorf("MaxInFlight() = %d, want %d (2 pipelined connections x Pipeline)", got, want)
	}
	const workers, each = 64, 8
	want := map[string][]byte{}
	var bodies []string
	for w := range workers {
		for i := range each {
			id := fmt.Sprintf("<%d.%d@test>", w, i)
			b := fmt.Sprintf("Message-ID: %s\r\n\r\n%s\r\n", id, strings.Repeat("z\r\n", (w*each+i)%3*3000))
			want[id] = []byte(b)
			bodies = append(bodies, b)
		}
	}
	uids, errs := appendAll(tg, "INBOX", bodies)
	seen := map[uint32]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Append() = %v", err)
		}
		if uids[i] == 0 || seen[uids[i]] {
			t.Errorf("UID %d zero or returned twice", uids[i])
		}
		seen[uids[i]] = true
	}
	if got := tg.pipe.MaxInFlight(); got < 2 {
		t.Errorf("most APPENDs in flight on one connection = %d, want > 1 (pipelined)", got)
	}
	if n := srv.OpenConnections(); n > 2 {
		t.Errorf("server holds %d connections, want at most 2", n)
	}
	got := mustMessages(t, srv, "INBOX")
	if len(got) != len(bodies) {
		t.Fatalf("INBOX holds %d messages, want %d", len(got), len(bodies))
	}
	for _, b := range got {
		id := messageID(b)
		if !bytes.Equal(b, want[id]) {
			t.Errorf("%s stored twice or altered", id)
		}
		delete(want, id)
	}
}

func TestPipelineOff(t *testing.T) {
	srv := newTestTargetOpts(t, Options{Pipeline: 1})
	if srv.pipe != nil {
		t.Errorf("Pipeline 1 made a pipeline, want the go-imap path")
	}
	if got := srv.MaxInFlight(); got != DefaultConnections {
		t.Errorf("MaxInFlight() = %d without a pipeline, want Connections (%d)", got, DefaultConnections)
	}
	f := newFakeServer(t, fakeCaps)
	if tg := newFakeTarget(t, f, 2, 5*time.Second); tg.pipe != nil {
		t.Errorf("a server without LITERAL+ got a pipeline")
	}
}

func newTestTargetOpts(t *testing.T, o Options) *Target {
	t.Helper()
	f := newFakeServer(t, fakePlusCaps)
	o.Addr, o.TLS, o.Username, o.Password = f.addr, TLSNone, f.user, f.pass
	tg, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(func() { _ = tg.Close() })
	return tg
}

func TestPipelineTooBigOnlyThatOne(t *testing.T) {
	f := newFakeServer(t, fakePlusCaps)
	tg := newFakeTarget(t, f, 2, 5*time.Second)
	f.setAction(func(n int) (appendAction, string) {
		if n == 2 {
			return appendNoAfter, "[TOOBIG] Mail too large"
		}
		return appendOK, ""
	})
	_, errs := appendAll(tg, "INBOX", []string{"a", "b", "c", "d", "e", "f"})
	rejected := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, target.ErrRejected) && !isTemp(err) && strings.Contains(err.Error(), "Mail too large"):
			rejected++
		case err != nil:
			t.Errorf("Append() = %v, want success or ErrRejected", err)
		}
	}
	if rejected != 1 {
		t.Errorf("%d appends rejected, want 1", rejected)
	}
	if got := f.accepted.Load(); got != 2 {
		t.Errorf("connections accepted = %d, want 2 (New's, then one pipelined)", got)
	}
}

func TestPipelineTryCreate(t *testing.T) {
	for _, act := range []appendAction{appendNoBefore, appendNoAfter} {
		f := newFakeServer(t, fakePlusCaps)
		tg := newFakeTarget(t, f, 2, 5*time.Second)
		f.setAction(func(n int) (appendAction, string) {
			if n == 0 {
				return act, "[TRYCREATE] Mailbox doesn't exist: Archive"
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
			t.Errorf("CREATE Archive not sent")
		}
	}
}

func TestPipelineOverQuota(t *testing.T) {
	f := newFakeServer(t, fakePlusCaps)
	tg := newFakeTarget(t, f, 2, 5*time.Second)
	f.always(appendNoAfter, "[OVERQUOTA] Quota exceeded")
	_, errs := appendAll(tg, "INBOX", []string{"a", "b", "c"})
	for _, err := range errs {
		if !errors.Is(err, target.ErrOverQuota) || isTemp(err) {
			t.Errorf("Append() = %v, want ErrOverQuota", err)
		}
	}
}

// A BYE with five APPENDs in flight fails all five as temporary (the
// server may have stored them); the next APPEND uses a new connection.
func TestPipelineByeWithFiveInFlight(t *testing.T) {
	f := newFakeServer(t, fakePlusCaps)
	tg := newFakeTarget(t, f, 2, 5*time.Second)
	f.setAction(func(n int) (appendAction, string) {
		switch {
		case n < 4:
			return appendSilent, ""
		case n == 4:
			return appendByeAfter, "Server shutting down"
		}
		return appendOK, ""
	})
	_, errs := appendAll(tg, "INBOX", []string{"a", "b", "c", "d", "e"})
	for _, err := range errs {
		if !isTemp(err) || errors.Is(err, target.ErrRejected) {
			t.Errorf("Append() = %v, want a temporary error", err)
		}
	}
	if got := f.appends.Load(); got != 5 {
		t.Errorf("APPENDs received = %d, want 5 (no retry once sent)", got)
	}
	if uid, err := tg.Append(context.Background(), "INBOX", msgOf("x")); err != nil || uid != 6 {
		t.Errorf("Append() after BYE = %d, %v; want UID 6", uid, err)
	}
	if got := f.accepted.Load(); got != 3 {
		t.Errorf("connections accepted = %d, want 3", got)
	}
}

func TestPipelineStalledServer(t *testing.T) {
	f := newFakeServer(t, fakePlusCaps)
	const timeout = 300 * time.Millisecond
	tg := newFakeTarget(t, f, 2, timeout)
	f.always(appendHang, "")
	start := time.Now()
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("a")); !isTemp(err) || !errors.Is(err, errTimeout) {
		t.Errorf("Append() = %v, want a temporary timeout", err)
	}
	if elapsed := time.Since(start); elapsed > timeout+time.Second {
		t.Errorf("Append() took %v, want about %v", elapsed, timeout)
	}
	// Requests that waited behind the stalled one were never sent: they
	// are tried again on new connections, up to maxAttempts in all.
	start = time.Now()
	_, errs := appendAll(tg, "INBOX", []string{"a", "b", "c"})
	for _, err := range errs {
		if !isTemp(err) {
			t.Errorf("Append() = %v, want a temporary error", err)
		}
	}
	if elapsed := time.Since(start); elapsed > maxAttempts*(timeout+time.Second) {
		t.Errorf("concurrent Append() took %v, want at most %v", elapsed, maxAttempts*(timeout+time.Second))
	}
	f.always(appendOK, "")
	if _, err := tg.Append(context.Background(), "INBOX", msgOf("x")); err != nil {
		t.Errorf("Append() after a stall = %v, want success", err)
	}
}
