package migrate

import (
	"context"
	"fmt"

	"github.com/mailferry/mailferry/internal/retry"
)

// Retrying, in one place: every stage that retries calls retry.Do with a
// policy made here from Options (see package retry for the layers and
// their budgets). A transient error is retried; the pause doubles from
// Options.Backoff up to Options.MaxBackoff, ±25 %.

// transient reports whether err is worth another try.
func transient(err error) bool { return ClassOf(err) == ClassTransient }

// policy is a budget of attempts with the run's pauses, retrying transient
// errors and telling notify (when not nil) of each before the pause.
func (o *Options) policy(attempts int, notify func(error)) retry.Policy {
	p := retry.Policy{Attempts: attempts, Base: o.Backoff, Max: o.MaxBackoff, Jitter: 0.25,
		Retryable: transient}
	if notify != nil {
		p.Notify = func(_ int, err error) { notify(err) }
	}
	return p
}

// retryTarget calls fn, with fresh false the first time and true after,
// until it returns nil or an error that is not transient, giving
// Options.MaxAttempts tries in all. notify is told of each transient error
// before the pause; nil logs it. Once the budget is spent it gives up with
// a ConnectError naming what: "target: <what> gave up after N attempts: …".
func (o *Options) retryTarget(ctx context.Context, what string, notify func(error), fn func(again bool) error) error {
	if notify == nil {
		notify = func(err error) { o.Logger.Warn("retrying", "what", what, "error", err) }
	}
	err := retry.Do(ctx, o.policy(o.MaxAttempts, notify), func(attempt int) error { return fn(attempt > 0) })
	return gaveUp("target", what, err)
}

// gaveUp turns a spent budget into a ConnectError for the job: who (the
// target or a source) could not be reached, what was being done (may be
// ""). Any other error is returned as it is.
func gaveUp(who, what string, err error) error {
	spent, ok := err.(*retry.Exhausted) // this budget's, not one inside err
	if !ok {
		return err
	}
	if what != "" {
		err = fmt.Errorf("%s %w", what, spent)
	}
	return &ConnectError{What: who, Err: err}
}

// retried returns a notify that reports a transient error about it, which
// the engine retries, as an event.
func (r *run) retried(it *item) func(error) {
	return func(err error) { r.event(it.event(EventRetry, err)) }
}
