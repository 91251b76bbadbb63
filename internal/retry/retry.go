// Package retry is the one retry loop of mailferry.
//
// Retries happen in two layers, each with its own budget:
//
//   - Inner, per call (target/imap): a command that failed without
//     reaching the server, or an idempotent one, is sent again on a new
//     connection, up to 3 calls in all, 100 ms then 200 ms apart (±50 %).
//     This hides a dropped idle connection from the engine. What it cannot
//     hide it returns as target.Temporary.
//   - Outer, per message or per session (migrate): a transient error
//     (target.Temporary, a source.TemporaryError, a network error) is
//     retried with Options.Backoff doubling up to Options.MaxBackoff (±25 %).
//     An APPEND gets Options.MaxAttempts calls (6: about a minute) and looks
//     on the server before each new call whether the failed one landed; a
//     lookup or a folder creation gets the same; a source gets
//     Options.Reconnects reconnections (10), but 2 before its first
//     session ever opened (a wrong host is more likely than a hiccup);
//     POP3 deletion gets Options.Reconnects. migrate/retry.go makes these
//     policies from the Options; a spent budget stops the job as a
//     migrate.ConnectError ("target: append gave up after 6 attempts: …").
//
// So one APPEND sends at most 6 × 3 commands before the run gives up on
// its target.
package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy is a retry budget.
type Policy struct {
	// Attempts is the number of calls in all, at least 1.
	Attempts int
	// Base is the pause after the first failed call; each further pause
	// doubles, up to Max (no cap when Max is 0).
	Base, Max time.Duration
	// Jitter spreads each pause by ± this fraction of it (0.25: ±25 %), so
	// that many workers do not retry in step.
	Jitter float64
	// Retryable reports whether an error is worth another call; nil: every
	// error is.
	Retryable func(error) bool
	// Notify, when set, is told of each error that is retried, before the
	// pause; attempt is the 0-based number of the call that failed.
	Notify func(attempt int, err error)
}

// Exhausted is returned when every attempt failed with a retryable error.
type Exhausted struct {
	Attempts int
	Err      error // the last error
}

func (e *Exhausted) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.Attempts, e.Err)
}

func (e *Exhausted) Unwrap() error { return e.Err }

// Do calls fn(0), fn(1), … until it returns nil or an error that
// p.Retryable rejects (returned as it is), pausing between calls. After
// p.Attempts calls that all failed with retryable errors it returns an
// *Exhausted wrapping the last error. When ctx ends during a pause, Do
// returns ctx.Err(); fn is expected to watch ctx itself.
func Do(ctx context.Context, p Policy, fn func(attempt int) error) error {
	attempts := max(p.Attempts, 1)
	for attempt := 0; ; attempt++ {
		err := fn(attempt)
		if err == nil || (p.Retryable != nil && !p.Retryable(err)) {
			return err
		}
		if attempt+1 >= attempts {
			return &Exhausted{Attempts: attempt + 1, Err: err}
		}
		if p.Notify != nil {
			p.Notify(attempt, err)
		}
		if err := Sleep(ctx, p.Backoff(attempt)); err != nil {
			return err
		}
	}
}

// Backoff returns the pause after the failed call n (0-based): Base
// doubled n times, at most Max, spread by Jitter.
func (p Policy) Backoff(n int) time.Duration {
	d := p.Base
	for i := 0; i < n && (p.Max <= 0 || d < p.Max); i++ {
		d *= 2
	}
	if p.Max > 0 {
		d = min(d, p.Max)
	}
	if spread := time.Duration(float64(d) * p.Jitter); spread > 0 {
		d += time.Duration(rand.Int64N(int64(2*spread)+1)) - spread
	}
	return d
}

// Sleep waits d or until ctx ends, returning ctx.Err() then.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
