package migrate

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/target"
)

// budgetReader returns a reader of one source over a run whose memory
// budget is budget bytes with the given spool threshold, and the channel
// it queues items on.
func budgetReader(budget, threshold int64) (*reader, chan *item) {
	r := &run{opts: Options{MemoryBytes: budget, SpoolThreshold: threshold, SpoolDir: ""}}
	r.opts.applyDefaults()
	work := make(chan *item, 4)
	return &reader{r: r, dedup: newDedup(r), mem: semaphore.NewWeighted(budget), out: work, spec: &SourceSpec{Name: "test"},
		folders: &folderMapper{layout: target.Layout{Delimiter: "/"}}}, work
}

// charged returns how much of the budget is taken, probing with
// TryAcquire (only when nobody waits): the largest amount still free,
// by bisection.
func charged(t *testing.T, mem *semaphore.Weighted, budget int64) int64 {
	t.Helper()
	lo, hi := int64(0), budget // lo is free; hi+1 is not
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if mem.TryAcquire(mid) {
			mem.Release(mid)
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return budget - lo
}

// held returns the memory an item's spool holds: its buffer's capacity.
func held(it *item) int64 { return int64(cap(it.sp.buf)) }

// TestBudgetWhateverTheSize reads messages whose announced size is too
// small, too large or missing: each is charged at least what its spool
// holds in memory, and once read no more than that (nothing left over
// for an overestimate).
func TestBudgetWhateverTheSize(t *testing.T) {
	const budget, threshold = 1 << 20, 256 << 10
	body := bytes.Repeat([]byte("0123456789abcdef\r\n"), 100<<10/18) // about 100 KB
	n := int64(len(body))
	for _, tc := range []struct {
		name string
		ref  source.Ref
	}{
		{"size too small", source.Ref{ID: "1", Size: 100}},
		{"estimate too small", source.Ref{ID: "2", SizeEstimate: n / 3}},
		{"estimate close", source.Ref{ID: "3", SizeEstimate: n - 10}},
		{"estimate too large", source.Ref{ID: "4", SizeEstimate: 200 << 10}},
		{"unknown", source.Ref{ID: "5"}},
		{"exact", source.Ref{ID: "6", Size: n}},
	} {
		rd, work := budgetReader(budget, threshold)
		if err := rd.take(context.Background(), tc.ref, bytes.NewReader(body)); err != nil {
			t.Fatalf("%s: take() = %v", tc.name, err)
		}
		it := <-work
		if it.sp.Size() != n || !bytes.Equal(it.sp.buf, body) {
			t.Fatalf("%s: spool holds %d bytes, want the %d of the message", tc.name, it.sp.Size(), n)
		}
		if held(it) < n || it.weight != held(it) || held(it) > 2*n {
			t.Errorf("%s: charged %d for a spool holding %d bytes of memory (message %d): want the charge equal to what it holds, at most twice the message",
				tc.name, it.weight, held(it), n)
		}
		if got := charged(t, rd.mem, budget); got != it.weight {
			t.Errorf("%s: budget charged %d, want the item's %d", tc.name, got, it.weight)
		}
		it.release()
		if got := charged(t, rd.mem, budget); got != 0 {
			t.Errorf("%s: %d bytes still charged after release", tc.name, got)
		}
	}
}

// stingyBody yields data then EOF, closing handed once all of data has
// been handed out.
type stingyBody struct {
	data   []byte
	handed chan struct{}
}

func (b *stingyBody) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	if len(b.data) == 0 {
		close(b.handed)
	}
	return n, nil
}

// TestBudgetWaitsForRoom reads a message announced at 1 KiB that is 20
// KiB long while others hold all of the budget but 4 KiB: the reader
// must wait for room before holding the rest, not hold it uncharged, and
// go on once the others give memory back.
func TestBudgetWaitsForRoom(t *testing.T) {
	const budget = 64 << 10
	rd, work := budgetReader(budget, budget)
	others := int64(budget - 4<<10)
	if !rd.mem.TryAcquire(others) {
		t.Fatal("cannot take the others' share")
	}
	body := &stingyBody{data: bytes.Repeat([]byte("x"), 20<<10), handed: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- rd.take(context.Background(), source.Ref{ID: "1", SizeEstimate: 1 << 10}, body) }()
	<-body.handed
	// The reader now holds the message's bytes in its hands: it must be
	// queued on the budget. A waiter makes TryAcquire fail even with
	// room, which is how the test sees it (bounded: 10 s).
	waiting := false
	for i := 0; i < 10000 && !waiting; i++ {
		if rd.mem.TryAcquire(1) {
			rd.mem.Release(1)
			select {
			case err := <-done:
				t.Fatalf("take() = %v without waiting for room: the message's memory was never charged", err)
			default:
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
			continue
		}
		waiting = true
	}
	if !waiting {
		t.Fatal("the reader never waited for room in the budget")
	}
	rd.mem.Release(others)
	if err := <-done; err != nil {
		t.Fatalf("take() = %v", err)
	}
	it := <-work
	if it.weight < 20<<10 || it.weight != held(it) {
		t.Errorf("charged %d for %d bytes held, want at least 20 KiB and what is held", it.weight, held(it))
	}
	it.release()
}

// TestBudgetSpooledMessage reads a message announced too small that is
// larger than the spool threshold: it goes to a temp file, and its
// charge never passes the threshold.
func TestBudgetSpooledMessage(t *testing.T) {
	const budget, threshold = 256 << 10, 64 << 10
	rd, work := budgetReader(budget, threshold)
	body := bytes.Repeat([]byte("y"), 200<<10)
	if err := rd.take(context.Background(), source.Ref{ID: "1", SizeEstimate: 10 << 10}, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	it := <-work
	defer it.release()
	if it.sp.f == nil || it.sp.buf != nil || it.sp.Size() != int64(len(body)) {
		t.Fatalf("spool: file %v, %d bytes in memory, size %d; want all %d bytes in a temp file", it.sp.f, len(it.sp.buf), it.sp.Size(), len(body))
	}
	if it.weight > threshold {
		t.Errorf("charged %d, want at most the threshold %d", it.weight, threshold)
	}
	got := make([]byte, len(body))
	if _, err := it.sp.ReadAt(got, 0); err != nil && err != io.EOF || !bytes.Equal(got, body) {
		t.Fatalf("spooled bytes differ: %v", err)
	}
}
