package migrate

import (
	"context"
	"io"
	"sync"
	"time"
)

// limiter bounds the rate of message bytes sent to the target
// (Options.MaxBytesPerSecond), over every connection of the run: a token
// bucket that every APPEND's body reads draw from. The bucket holds at
// most one second of tokens, so that a pause is not followed by a burst
// of more than a second's worth.
type limiter struct {
	rate  float64 // tokens (bytes) per second
	burst float64 // the most tokens the bucket holds
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	tokens float64   // may go below 0: bytes owed
	last   time.Time // when tokens was last brought up to date
}

// newLimiter returns a limiter of perSecond bytes a second, nil (no
// limit) for 0 or less.
func newLimiter(perSecond int64, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	if perSecond <= 0 {
		return nil
	}
	r := float64(perSecond)
	return &limiter{rate: r, burst: r, now: now, sleep: sleep, tokens: r, last: now()}
}

// reserve takes n tokens and returns how long to wait before sending the
// n bytes: 0 while the bucket has them, else the time it takes to earn
// the tokens owed.
func (l *limiter) reserve(n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(l.burst, l.tokens+elapsed.Seconds()*l.rate)
	}
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// wait returns once n bytes may be sent, or when ctx ends.
func (l *limiter) wait(ctx context.Context, n int) error {
	if d := l.reserve(n); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}

// reader returns body with each read waiting for its bytes' tokens; body
// itself when l is nil.
func (l *limiter) reader(ctx context.Context, body io.ReaderAt) io.ReaderAt {
	if l == nil {
		return body
	}
	return &limitedReaderAt{ctx: ctx, r: body, l: l}
}

// limitedReaderAt reads a second's worth of bytes at most at a time,
// each after waiting for its tokens.
type limitedReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
	l   *limiter
}

func (lr *limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	chunk := max(int(lr.l.burst), 1)
	done := 0
	for done < len(p) {
		q := p[done:min(len(p), done+chunk)]
		n, err := lr.r.ReadAt(q, off+int64(done))
		if n > 0 {
			if werr := lr.l.wait(lr.ctx, n); werr != nil {
				return done, werr
			}
		}
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
