package migrate

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when sleep is called.
type fakeClock struct {
	t     time.Time
	slept time.Duration
}

func (c *fakeClock) now() time.Time { return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	c.slept += d
	return nil
}

func TestLimiterArithmetic(t *testing.T) {
	c := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(1000, c.now, c.sleep)
	// A full bucket: a second's worth goes at once.
	if d := l.reserve(1000); d != 0 {
		t.Fatalf("first 1000 bytes wait %v, want 0", d)
	}
	// Then each byte is owed: 500 bytes take half a second.
	if d := l.reserve(500); d != 500*time.Millisecond {
		t.Fatalf("500 more bytes wait %v, want 500ms", d)
	}
	// Time passes: the debt is paid after 500 ms, then the bucket fills.
	c.t = c.t.Add(500 * time.Millisecond)
	if d := l.reserve(250); d != 250*time.Millisecond {
		t.Fatalf("250 bytes after paying the debt wait %v, want 250ms", d)
	}
	// A long pause fills the bucket to one second, no more.
	c.t = c.t.Add(time.Hour)
	if d := l.reserve(1000); d != 0 {
		t.Fatalf("after a pause 1000 bytes wait %v, want 0", d)
	}
	if d := l.reserve(1); d != time.Millisecond {
		t.Fatalf("after a pause the bucket held more than a second: 1 byte waits %v", d)
	}
	if newLimiter(0, c.now, c.sleep) != nil {
		t.Fatal("newLimiter(0) is a limit")
	}
}

// The reader shared by several bodies: 4000 bytes at 1000 B/s after a
// full bucket take 3 s, whatever the reads' sizes, and the bytes are
// read exactly.
func TestLimitedReaderSharesTheBucket(t *testing.T) {
	c := &fakeClock{t: time.Unix(1e9, 0)}
	l := newLimiter(1000, c.now, c.sleep)
	a, b := bytes.Repeat([]byte("a"), 2500), bytes.Repeat([]byte("b"), 1500)
	for _, body := range [][]byte{a, b} {
		r := io.NewSectionReader(l.reader(context.Background(), bytes.NewReader(body)), 0, int64(len(body)))
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read %d bytes, err %v; want the %d bytes", len(got), err, len(body))
		}
	}
	if c.slept != 3*time.Second {
		t.Fatalf("slept %v in all, want 3s", c.slept)
	}
	// One ReadAt of more than the bucket holds is served whole.
	c2 := &fakeClock{t: time.Unix(1e9, 0)}
	l2 := newLimiter(100, c2.now, c2.sleep)
	p := make([]byte, 1000)
	if n, err := l2.reader(context.Background(), bytes.NewReader(bytes.Repeat([]byte("z"), 1000))).ReadAt(p, 0); n != 1000 || err != nil {
		t.Fatalf("ReadAt = %d, %v; want 1000, nil", n, err)
	}
	if c2.slept != 9*time.Second {
		t.Fatalf("slept %v, want 9s", c2.slept)
	}
}
