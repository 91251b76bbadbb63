package mbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
)

// writeBig writes an LF mbox of about size bytes to a new file and
// returns its path and the number of messages.
func writeBig(t testing.TB, size int64) (string, int) {
	t.Helper()
	return writeBigSep(t, size, from1)
}

// writeBigSep is writeBig with separator lines sep.
func writeBigSep(t testing.TB, size int64, sep string) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.mbox")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	line := strings.Repeat("lorem ipsum dolor sit amet ", 2) + "\n"
	n := 0
	var written int64
	for written < size {
		k, _ := fmt.Fprintf(w, "%sMessage-ID: <%d@example.com>\nSubject: message %d\n\n", sep, n, n)
		written += int64(k)
		for i := range 40 + n%400 {
			if i%50 == 7 {
				k, _ = w.WriteString(">From a quoted line\n")
				written += int64(k)
			}
			k, _ = w.WriteString(line)
			written += int64(k)
		}
		w.WriteString("\n")
		written++
		n++
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, n
}

// peakHeap samples the heap until stop is called, which returns the
// highest HeapAlloc seen.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

func TestStreamBigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 200 MB file")
	}
	path, count := writeBig(t, 200<<20)
	runtime.GC()
	stop := peakHeap()
	s := newSource(t, Options{Path: path})
	var refs, sized int
	var total, want int64
	buf := make([]byte, 32<<10)
	err := s.List(context.Background(), func(ref source.Ref) error {
		refs++
		want += ref.Size
		if refs%10 != 0 { // open one message in ten, keep the test quick
			return nil
		}
		sized++
		rc, err := s.Open(context.Background(), ref)
		if err != nil {
			return err
		}
		defer rc.Close()
		n, err := io.CopyBuffer(io.Discard, rc, buf)
		total += n
		if n != ref.Size {
			return fmt.Errorf("%s: read %d bytes, Size %d", ref.ID, n, ref.Size)
		}
		return err
	})
	peak := stop()
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	if refs != count {
		t.Errorf("List gave %d messages, want %d", refs, count)
	}
	t.Logf("%d messages, %d MB listed, %d opened (%d MB); peak heap %.1f MiB", refs, want>>20, sized, total>>20, float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Errorf("peak heap %d MiB, want below 64 MiB", peak>>20)
	}
}

func BenchmarkList(b *testing.B) {
	b.Run("full", func(b *testing.B) { benchmarkList(b, from1) })
	// Thunderbird 122-131: every separator is looked past for a header.
	b.Run("bare", func(b *testing.B) { benchmarkList(b, "From \r\n") })
}

func benchmarkList(b *testing.B, sep string) {
	path, _ := writeBigSep(b, 64<<20, sep)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	s := newSource(b, Options{Path: path})
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		if err := s.List(context.Background(), func(source.Ref) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	path, _ := writeBig(b, 64<<20)
	s := newSource(b, Options{Path: path})
	refs := listAll(b, s)
	var size int64
	for _, r := range refs {
		size += r.Size
	}
	b.SetBytes(size)
	buf := make([]byte, 32<<10)
	for b.Loop() {
		for _, r := range refs {
			rc, err := s.Open(context.Background(), r)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	}
}
