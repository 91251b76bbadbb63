package state_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/state"
)

var ctx = context.Background()

func openTemp(t *testing.T) (*state.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	return mustOpen(t, path, state.Options{}), path
}

func mustOpen(t *testing.T, path string, opts state.Options) *state.Store {
	t.Helper()
	s, err := state.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q, %+v) = %v, want nil", path, opts, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func reopen(t *testing.T, s *state.Store) *state.Store {
	t.Helper()
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	return mustOpen(t, path, state.Options{})
}

// at is a fixed instant with nanoseconds, in a non-UTC zone.
var at = time.Date(2024, 3, 9, 17, 4, 5, 123456789, time.FixedZone("X", 3600))

// utc makes times comparable with reflect.DeepEqual.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Round(0).UTC()
}

func normKey(k state.KeyRecord) state.KeyRecord { k.At = utc(k.At); return k }

func normRef(r state.RefRecord) state.RefRecord {
	r.FirstSeen, r.Done = utc(r.FirstSeen), utc(r.Done)
	return r
}

func normRun(r state.Run) state.Run { r.Start, r.End = utc(r.Start), utc(r.End); return r }

func TestKeyRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	k := state.KeyRecord{Key: "m1@example.org", BodyHash: "bh1", Folder: "Archive/2024",
		UID: 0, Size: 1 << 40, Source: "src", RefID: "r1", At: at}
	if err := s.Begin(ctx, k); err != nil {
		t.Fatalf("Begin() = %v, want nil", err)
	}
	want := k
	want.Pending = true
	s = reopen(t, s)
	checkLookup(t, s, k.Key, want)

	r := state.RefRecord{State: state.RefCopied, FirstSeen: at.Add(-time.Hour), Done: at}
	k.UID = 4000000000
	if err := s.Commit(ctx, k, "pop3s://alice@host:995", "uidl-1", r); err != nil {
		t.Fatalf("Commit() = %v, want nil", err)
	}
	want = k
	want.Source, want.RefID = "pop3s://alice@host:995", "uidl-1"
	s = reopen(t, s)
	checkLookup(t, s, k.Key, want)

	wantRef := r
	wantRef.Key, wantRef.BodyHash, wantRef.Folder, wantRef.UID = k.Key, k.BodyHash, k.Folder, k.UID
	checkRef(t, s, "pop3s://alice@host:995", "uidl-1", wantRef)
}

func checkLookup(t *testing.T, s *state.Store, key string, want ...state.KeyRecord) {
	t.Helper()
	got, err := s.Lookup(key)
	if err != nil {
		t.Fatalf("Lookup(%q) = %v, want nil error", key, err)
	}
	for i := range got {
		got[i] = normKey(got[i])
	}
	for i := range want {
		want[i] = normKey(want[i])
	}
	if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("Lookup(%q) =\n %+v\nwant\n %+v", key, got, want)
	}
}

func checkRef(t *testing.T, s *state.Store, source, id string, want state.RefRecord) {
	t.Helper()
	got, ok, err := s.Ref(source, id)
	if err != nil || !ok {
		t.Fatalf("Ref(%q, %q) = _, %v, %v, want true, nil", source, id, ok, err)
	}
	if got, want := normRef(got), normRef(want); !reflect.DeepEqual(got, want) {
		t.Fatalf("Ref(%q, %q) =\n %+v\nwant\n %+v", source, id, got, want)
	}
}

func TestCommitDefaults(t *testing.T) {
	s, _ := openTemp(t)
	k := state.KeyRecord{Key: "d@x", BodyHash: "b", Folder: "INBOX", UID: 7, Pending: true}
	before := time.Now()
	if err := s.Commit(ctx, k, "src", "id", state.RefRecord{}); err != nil {
		t.Fatalf("Commit() = %v, want nil", err)
	}
	got, _ := s.Lookup("d@x")
	if len(got) != 1 || got[0].Pending || got[0].Source != "src" || got[0].RefID != "id" || got[0].At.Before(before) {
		t.Errorf("Lookup() = %+v, want one committed record from src/id stamped now", got)
	}
	r, _, _ := s.Ref("src", "id")
	if r.State != state.RefCopied || r.Key != "d@x" || r.BodyHash != "b" || r.Folder != "INBOX" || r.UID != 7 || r.Done.Before(before) {
		t.Errorf("Ref() = %+v, want copied d@x/b INBOX 7 done now", r)
	}
}

func TestMarkRefRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	for i, st := range []state.RefState{state.RefPresent, state.RefDuplicate, state.RefCopied} {
		r := state.RefRecord{State: st, Key: "sha256:ab", BodyHash: "h", Folder: "F", UID: uint32(i), FirstSeen: at, Done: at}
		id := fmt.Sprint("id", i)
		if err := s.MarkRef(ctx, "src", id, r); err != nil {
			t.Fatalf("MarkRef(%v) = %v, want nil", st, err)
		}
		s = reopen(t, s)
		checkRef(t, s, "src", id, r)
	}
	if _, ok, err := s.Ref("src", "nope"); ok || err != nil {
		t.Errorf("Ref(missing) = _, %v, %v, want false, nil", ok, err)
	}
	if _, ok, err := s.Ref("nosource", "id0"); ok || err != nil {
		t.Errorf("Ref(missing source) = _, %v, %v, want false, nil", ok, err)
	}
	if err := s.MarkRef(ctx, "src", "bad", state.RefRecord{}); err == nil {
		t.Errorf("MarkRef(state 0) = nil, want an error")
	}
}

func TestFolderRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	if _, ok, err := s.Folder("INBOX"); ok || err != nil {
		t.Fatalf("Folder(unknown) = _, %v, %v, want false, nil", ok, err)
	}
	want := state.FolderRecord{Indexed: true, UIDValidity: 0xfffffffe}
	if err := s.SetFolder(ctx, "INBOX", want); err != nil {
		t.Fatalf("SetFolder() = %v, want nil", err)
	}
	s = reopen(t, s)
	if got, ok, err := s.Folder("INBOX"); !ok || err != nil || got != want {
		t.Errorf("Folder() = %+v, %v, %v, want %+v, true, nil", got, ok, err, want)
	}
	if err := s.SetFolder(ctx, "", want); err == nil {
		t.Errorf("SetFolder(\"\") = nil, want an error")
	}
}

func TestRunsRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	var want []state.Run
	for i := range 3 {
		r := state.Run{Start: at, End: at.Add(time.Duration(i) * time.Minute), Copied: i, Present: 2 * i,
			Duplicates: 3 * i, Failed: -i, Bytes: 1 << 50, Result: fmt.Sprint("result ", i)}
		if err := s.AddRun(ctx, r); err != nil {
			t.Fatalf("AddRun() = %v, want nil", err)
		}
		want = append(want, normRun(r))
	}
	s = reopen(t, s)
	got, err := s.Runs()
	if err != nil {
		t.Fatalf("Runs() = %v, want nil", err)
	}
	for i := range got {
		got[i] = normRun(got[i])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Runs() =\n %+v\nwant\n %+v", got, want)
	}
}

func TestLookupPrefix(t *testing.T) {
	s, _ := openTemp(t)
	recs := []state.KeyRecord{
		{Key: "a", BodyHash: "h1", Folder: "INBOX"},
		{Key: "a", BodyHash: "h1", Folder: "Sent"},
		{Key: "a", BodyHash: "h2", Folder: "INBOX"},
		{Key: "ab", BodyHash: "h1", Folder: "INBOX"},
		{Key: "a\x01", BodyHash: "h1", Folder: "INBOX"},
		{Key: "`", BodyHash: "", Folder: ""},
	}
	for i, k := range recs {
		k.At = at
		recs[i] = k
		if err := s.Commit(ctx, k, "src", fmt.Sprint(i), state.RefRecord{}); err != nil {
			t.Fatalf("Commit(%q) = %v, want nil", k.Key, err)
		}
		recs[i].Source, recs[i].RefID = "src", fmt.Sprint(i)
	}
	checkLookup(t, s, "a", recs[0], recs[1], recs[2])
	checkLookup(t, s, "ab", recs[3])
	checkLookup(t, s, "a\x01", recs[4])
	checkLookup(t, s, "`", recs[5])
	checkLookup(t, s, "b")
	checkLookup(t, s, "")
	if err := s.Begin(ctx, state.KeyRecord{Key: "a\x00b"}); err == nil {
		t.Errorf("Begin(key with NUL) = nil, want an error")
	}
	if err := s.Begin(ctx, state.KeyRecord{}); err == nil {
		t.Errorf("Begin(empty key) = nil, want an error")
	}
}

func TestPendingForget(t *testing.T) {
	s, _ := openTemp(t)
	p1 := state.KeyRecord{Key: "p1", BodyHash: "h", Folder: "INBOX", At: at, Source: "s", RefID: "1"}
	p2 := state.KeyRecord{Key: "p2", BodyHash: "h", Folder: "INBOX", At: at, Source: "s", RefID: "2"}
	c3 := state.KeyRecord{Key: "c3", BodyHash: "h", Folder: "INBOX", At: at, UID: 3}
	for _, k := range []state.KeyRecord{p1, p2, c3} {
		if err := s.Begin(ctx, k); err != nil {
			t.Fatalf("Begin(%q) = %v, want nil", k.Key, err)
		}
	}
	if err := s.Commit(ctx, c3, "s", "3", state.RefRecord{}); err != nil {
		t.Fatalf("Commit() = %v, want nil", err)
	}
	p1.Pending, p2.Pending = true, true
	checkPending(t, s, p1, p2)

	if err := s.Forget(ctx, p1); err != nil {
		t.Fatalf("Forget(p1) = %v, want nil", err)
	}
	// Forget keeps committed records and ignores missing ones.
	for _, k := range []state.KeyRecord{c3, {Key: "never"}} {
		if err := s.Forget(ctx, k); err != nil {
			t.Fatalf("Forget(%q) = %v, want nil", k.Key, err)
		}
	}
	s = reopen(t, s)
	checkPending(t, s, p2)
	checkLookup(t, s, "p1")
	c3.Source, c3.RefID = "s", "3"
	checkLookup(t, s, "c3", c3)
}

func checkPending(t *testing.T, s *state.Store, want ...state.KeyRecord) {
	t.Helper()
	got, err := s.Pending()
	if err != nil {
		t.Fatalf("Pending() = %v, want nil", err)
	}
	for i := range got {
		got[i] = normKey(got[i])
	}
	for i := range want {
		want[i] = normKey(want[i])
	}
	if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("Pending() =\n %+v\nwant\n %+v", got, want)
	}
}

func TestRefsIteration(t *testing.T) {
	s, _ := openTemp(t)
	const n = 2500 // More than one read chunk.
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Go(func() {
			for i := w; i < n; i += 10 {
				r := state.RefRecord{State: state.RefPresent, UID: uint32(i)}
				if err := s.MarkRef(ctx, "src", fmt.Sprintf("id%05d", i), r); err != nil {
					t.Errorf("MarkRef() = %v, want nil", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.MarkRef(ctx, "other", "x", state.RefRecord{State: state.RefPresent}); err != nil {
		t.Fatal(err)
	}
	i := 0
	err := s.Refs("src", func(id string, r state.RefRecord) error {
		if want := fmt.Sprintf("id%05d", i); id != want || r.UID != uint32(i) {
			return fmt.Errorf("ref %d = %q uid %d, want %q uid %d", i, id, r.UID, want, i)
		}
		i++
		// fn may call the store, even write to it.
		return s.MarkRef(ctx, "other", id, state.RefRecord{State: state.RefDuplicate})
	})
	if err != nil || i != n {
		t.Fatalf("Refs() = %v after %d refs, want nil after %d", err, i, n)
	}
	stop := errors.New("stop")
	calls := 0
	err = s.Refs("src", func(string, state.RefRecord) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("Refs(fn failing) = %v after %d calls, want %v after 1", err, calls, stop)
	}
	if err := s.Refs("none", func(string, state.RefRecord) error { return stop }); err != nil {
		t.Errorf("Refs(unknown source) = %v, want nil", err)
	}
}

func TestConcurrentCommits(t *testing.T) {
	s, _ := openTemp(t)
	const workers, each = 64, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				k := state.KeyRecord{Key: fmt.Sprintf("%d.%d@x", w, i), BodyHash: "h", Folder: "INBOX", UID: uint32(i + 1)}
				if err := s.Commit(ctx, k, "src", k.Key, state.RefRecord{}); err != nil {
					t.Errorf("Commit(%q) = %v, want nil", k.Key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	s = reopen(t, s)
	for w := range workers {
		for i := range each {
			key := fmt.Sprintf("%d.%d@x", w, i)
			got, err := s.Lookup(key)
			if err != nil || len(got) != 1 || got[0].Pending || got[0].UID != uint32(i+1) {
				t.Fatalf("Lookup(%q) = %+v, %v, want one committed record with UID %d", key, got, err, i+1)
			}
			if _, ok, err := s.Ref("src", key); !ok || err != nil {
				t.Fatalf("Ref(%q) = _, %v, %v, want true, nil", key, ok, err)
			}
		}
	}
	checkPending(t, s)
}

func TestContextAndClose(t *testing.T) {
	s, _ := openTemp(t)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	k := state.KeyRecord{Key: "k", BodyHash: "h", Folder: "F"}
	if err := s.Begin(cctx, k); !errors.Is(err, context.Canceled) {
		t.Errorf("Begin(canceled ctx) = %v, want context.Canceled", err)
	}
	checkLookup(t, s, "k")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := s.Begin(ctx, k); !errors.Is(err, state.ErrClosed) {
		t.Errorf("Begin() after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := state.Open(path, state.Options{ReadOnly: true})
	if !errors.Is(err, fs.ErrNotExist) || s != nil {
		t.Fatalf("Open(missing, ReadOnly) = %v, %v, want nil, ErrNotExist", s, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(ReadOnly) created the file: stat = %v", err)
	}

	w := mustOpen(t, path, state.Options{})
	k := state.KeyRecord{Key: "k", BodyHash: "h", Folder: "F", At: at}
	if err := w.Begin(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := state.Open(path, state.Options{ReadOnly: true}); !errors.Is(err, state.ErrLocked) {
		t.Errorf("Open(ReadOnly) during a run = %v, want ErrLocked", err)
	}
	w.Close()

	r := mustOpen(t, path, state.Options{ReadOnly: true})
	k.Pending = true
	checkLookup(t, r, "k", k)
	if err := r.Begin(ctx, k); !errors.Is(err, state.ErrReadOnly) {
		t.Errorf("Begin() on a read-only store = %v, want ErrReadOnly", err)
	}
	// Two dry runs may read at once.
	mustOpen(t, path, state.Options{ReadOnly: true})
}

func TestNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		v := []byte{0, 0, 0, 0, 0, 0, 0, state.SchemaVersion + 1}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := state.Open(path, state.Options{ReadOnly: ro})
		if !errors.Is(err, state.ErrNewerSchema) {
			t.Errorf("Open(ReadOnly: %v) of a version %d file = %v, want ErrNewerSchema", ro, state.SchemaVersion+1, err)
		}
	}
}

func TestNotAStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, []byte("not bbolt, and longer than nothing at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := state.Open(path, state.Options{}); err == nil {
		s.Close()
		t.Errorf("Open(garbage) = nil, want an error")
	}
}

func TestLockedSameProcess(t *testing.T) {
	s, path := openTemp(t)
	start := time.Now()
	if _, err := state.Open(path, state.Options{}); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second Open() = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Open(LockTimeout 0) took %v, want it to fail at once", d)
	}
	start = time.Now()
	if _, err := state.Open(path, state.Options{LockTimeout: 300 * time.Millisecond}); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second Open(300ms) = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Errorf("Open(LockTimeout 300ms) failed after %v, want about 300ms", d)
	}
	// A waiting Open gets the file once the holder closes it.
	time.AfterFunc(200*time.Millisecond, func() { s.Close() })
	mustOpen(t, path, state.Options{LockTimeout: 10 * time.Second})
}

func TestLockedOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	release, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release.Close(); hold.Close() })
	cmd, out := helper(t, "hold", path, release)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("helper said %q, %v, want ready", out.Text(), out.Err())
	}
	start := time.Now()
	if _, err := state.Open(path, state.Options{LockTimeout: 200 * time.Millisecond}); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Open() while another process holds the file = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Open(LockTimeout 200ms) failed after %v, want about 200ms", d)
	}
	if _, err := state.Open(path, state.Options{ReadOnly: true}); !errors.Is(err, state.ErrLocked) {
		t.Errorf("Open(ReadOnly) while another process holds the file = %v, want ErrLocked", err)
	}
	hold.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper exited with %v, want success", err)
	}
	mustOpen(t, path, state.Options{})
}
