// Package sourcetest is a conformance suite that every source kind runs
// against itself, like restic's backend tests: listing order is stable,
// Open returns the wanted bytes with CRLF line endings, Ref.Size agrees
// with them, and the source is left unchanged.
package sourcetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
)

// A Message is what a source should yield for one message.
type Message struct {
	Folder string    // Ref.Folder
	Body   []byte    // exact bytes Open must return
	Flags  []string  // Ref.Flags, in any order; nil and empty are equal
	Date   time.Time // Ref.Date; the zero time skips the check
}

// Check lists src twice, opens every message, and compares with want, in
// order. It fails t on any difference. It does not close src.
func Check(t testing.TB, src source.Source, want []Message) {
	t.Helper()
	ctx := context.Background()
	first := list(t, src)
	if again := list(t, src); !sameIDs(first, again) {
		t.Fatalf("two listings differ: %v then %v", ids(first), ids(again))
	}
	if len(first) != len(want) {
		t.Fatalf("List gave %d messages %v, want %d", len(first), ids(first), len(want))
	}
	seen := map[string]bool{}
	for i, ref := range first {
		if seen[ref.ID] {
			t.Errorf("ID %q listed twice", ref.ID)
		}
		seen[ref.ID] = true
		checkOne(t, ctx, src, ref, want[i], i)
	}
}

func checkOne(t testing.TB, ctx context.Context, src source.Source, ref source.Ref, w Message, i int) {
	t.Helper()
	if ref.Folder != w.Folder {
		t.Errorf("message %d (%s): Folder = %q, want %q", i, ref.ID, ref.Folder, w.Folder)
	}
	if !sameFlags(ref.Flags, w.Flags) {
		t.Errorf("message %d (%s): Flags = %v, want %v", i, ref.ID, ref.Flags, w.Flags)
	}
	if !w.Date.IsZero() && !ref.Date.Equal(w.Date) {
		t.Errorf("message %d (%s): Date = %v, want %v", i, ref.ID, ref.Date, w.Date)
	}
	got, err := read(ctx, src, ref)
	if err != nil {
		t.Fatalf("message %d (%s): Open: %v", i, ref.ID, err)
	}
	if !bytes.Equal(got, w.Body) {
		t.Errorf("message %d (%s): Open gave %d bytes %.80q, want %d bytes %.80q", i, ref.ID, len(got), got, len(w.Body), w.Body)
	}
	if ref.Size != 0 && ref.Size != int64(len(got)) {
		t.Errorf("message %d (%s): Ref.Size = %d, Open gave %d bytes", i, ref.ID, ref.Size, len(got))
	}
	if bad := bareLF(got); bad >= 0 {
		t.Errorf("message %d (%s): bare LF at offset %d; Open must give CRLF line endings", i, ref.ID, bad)
	}
}

func read(ctx context.Context, src source.Source, ref source.Ref) ([]byte, error) {
	rc, err := src.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return b, err
}

func list(t testing.TB, src source.Source) []source.Ref {
	t.Helper()
	var refs []source.Ref
	if err := src.List(context.Background(), func(r source.Ref) error {
		refs = append(refs, r)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	return refs
}

// bareLF returns the offset of the first LF not preceded by CR, or -1.
func bareLF(b []byte) int {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return i
		}
	}
	return -1
}

func ids(refs []source.Ref) []string {
	var s []string
	for _, r := range refs {
		s = append(s, r.ID)
	}
	return s
}

func sameIDs(a, b []source.Ref) bool { return slices.Equal(ids(a), ids(b)) }

func sameFlags(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// CRLF returns b with every bare LF turned into CRLF: what a source must
// yield for a message stored with LF line endings.
func CRLF(b []byte) []byte {
	var out bytes.Buffer
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out.WriteByte('\r')
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

// StopEarly checks that an error from List's callback stops the listing
// and comes back unchanged.
func StopEarly(t testing.TB, src source.Source) {
	t.Helper()
	stop := fmt.Errorf("stop here")
	n := 0
	err := src.List(context.Background(), func(source.Ref) error { n++; return stop })
	if err != stop || n > 1 {
		t.Fatalf("List with a failing callback: err %v after %d calls, want %v after 1", err, n, stop)
	}
}
