package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errTemp = errors.New("temporary")

func TestDoRetriesUpToAttempts(t *testing.T) {
	var calls []int
	var notified []int
	p := Policy{Attempts: 3, Base: time.Millisecond, Notify: func(n int, err error) { notified = append(notified, n) }}
	err := Do(context.Background(), p, func(attempt int) error {
		calls = append(calls, attempt)
		return errTemp
	})
	var ex *Exhausted
	if !errors.As(err, &ex) || ex.Attempts != 3 || !errors.Is(err, errTemp) {
		t.Fatalf("Do = %v, want Exhausted after 3 attempts wrapping errTemp", err)
	}
	if len(calls) != 3 || calls[2] != 2 {
		t.Errorf("calls = %v, want [0 1 2]", calls)
	}
	if len(notified) != 2 {
		t.Errorf("notified = %v, want two retries", notified)
	}
	if got := err.Error(); got != "gave up after 3 attempts: temporary" {
		t.Errorf("Error() = %q", got)
	}
}

func TestDoStopsOnSuccessAndOnFinalErrors(t *testing.T) {
	final := errors.New("final")
	n := 0
	p := Policy{Attempts: 5, Base: time.Millisecond, Retryable: func(err error) bool { return err == errTemp }}
	err := Do(context.Background(), p, func(int) error {
		n++
		if n == 2 {
			return final
		}
		return errTemp
	})
	if err != final || n != 2 {
		t.Fatalf("Do = %v after %d calls, want final after 2", err, n)
	}
	n = 0
	if err := Do(context.Background(), p, func(int) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("Do = %v after %d calls, want nil after 1", err, n)
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{Attempts: 100, Base: time.Hour}
	n := 0
	err := Do(ctx, p, func(int) error {
		n++
		cancel()
		return errTemp
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("Do = %v after %d calls, want context.Canceled after 1", err, n)
	}
}

func TestBackoff(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if got := p.Backoff(n); got != want*time.Millisecond {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want*time.Millisecond)
		}
	}
	p.Jitter = 0.25
	for range 200 {
		if d := p.Backoff(1); d < 150*time.Millisecond || d > 250*time.Millisecond {
			t.Fatalf("Backoff(1) with ±25%% = %v, want within [150ms, 250ms]", d)
		}
	}
}
