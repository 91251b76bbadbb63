package job

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
)

// quotaWindow is the span a daily upload quota counts over.
const quotaWindow = 24 * time.Hour

// quotaTarget is the target with a provider's daily upload quota: the
// bytes APPENDed are counted in the state (per minute, so that runs share
// the count), and a message that would go over the quota is not sent;
// the run stops, saying when the next one may start. The message's
// pending record stays, as for any error that stops a run, so the next
// run neither loses nor duplicates it.
type quotaTarget struct {
	*imap.Target
	store    *state.Store
	quota    int64
	provider string
	now      func() time.Time

	mu   sync.Mutex
	done *sync.Cond // on mu: an APPEND ended
	used int64      // in the window, as of the first Append, plus this run's
	from time.Time
	init bool
	// inFlight counts the APPENDs under way: the quota stop waits for
	// them, so that the error that stops the run does not cut them off.
	inFlight int
}

// quotaError stops a run at a provider's daily upload quota.
type quotaError struct {
	provider    string
	quota, used int64
	size        int64
	after       time.Time
}

func (e *quotaError) Error() string {
	return fmt.Sprintf("%s's IMAP upload quota of %d bytes a day is reached (%d bytes sent in the last 24 h, the next message has %d): "+
		"nothing is lost; run again after %s", e.provider, e.quota, e.used, e.size, e.after.UTC().Format(time.RFC3339))
}

func (q *quotaTarget) Append(ctx context.Context, folder string, msg target.Message) (uint32, error) {
	if msg.Size > q.quota {
		return 0, fmt.Errorf("%w: the message is %d bytes, more than %s's IMAP upload quota of %d bytes a day",
			target.ErrRejected, msg.Size, q.provider, q.quota)
	}
	if err := q.reserve(msg.Size); err != nil {
		return 0, &migrate.ConnectError{What: "target", Err: err}
	}
	defer func() {
		q.mu.Lock()
		q.inFlight--
		q.done.Broadcast()
		q.mu.Unlock()
	}()
	uid, err := q.Target.Append(ctx, folder, msg)
	// A failed APPEND may have sent its bytes: counted too, on the safe
	// side.
	if aerr := q.store.AddUpload(context.WithoutCancel(ctx), q.now(), msg.Size); aerr != nil && err == nil {
		return uid, aerr
	}
	return uid, err
}

// reserve counts size against the quota, or says when to run again.
func (q *quotaTarget) reserve(size int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.init {
		used, oldest, err := q.store.Uploads(q.now().Add(-quotaWindow))
		if err != nil {
			return err
		}
		q.used, q.from, q.init = used, oldest, true
	}
	if q.used+size > q.quota {
		for q.inFlight > 0 {
			q.done.Wait()
		}
		after := q.now()
		if !q.from.IsZero() {
			after = q.from.Add(quotaWindow + time.Minute)
		}
		return &quotaError{provider: q.provider, quota: q.quota, used: q.used, size: size, after: after}
	}
	if q.from.IsZero() {
		q.from = q.now()
	}
	q.used += size
	q.inFlight++
	return nil
}

// Test hooks: testDailyQuota and testMaxMessageSize, above 0, replace the
// presets' values; testNow, not nil, is the quota's clock.
var (
	testDailyQuota, testMaxMessageSize int64
	testNow                            func() time.Time
)

// withQuota wraps tgt when the target's preset has a daily upload quota
// and the run writes its state.
func withQuota(tgt *imap.Target, e *Server, store *state.Store, dryRun bool) target.Target {
	p, _, _ := lookupPreset("target", e.Preset)
	quota := p.DailyUploadBytes
	if quota > 0 && testDailyQuota > 0 {
		quota = testDailyQuota
	}
	now := time.Now
	if testNow != nil {
		now = testNow
	}
	if quota <= 0 || store == nil || dryRun {
		return tgt
	}
	q := &quotaTarget{Target: tgt, store: store, quota: quota, provider: e.Preset, now: now}
	q.done = sync.NewCond(&q.mu)
	return q
}
