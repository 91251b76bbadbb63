package state_test

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/state"
)

// v1 writes state files as schema version 1 laid them out, byte for
// byte, independently of the package's codec: the upgrade is tested
// against the old format itself.
type v1 struct{ b []byte }

func newV1() *v1 { return &v1{b: []byte{1}} } // value format 1

func (e *v1) uint(n uint64) *v1    { e.b = binary.AppendUvarint(e.b, n); return e }
func (e *v1) int(n int64) *v1      { e.b = binary.AppendVarint(e.b, n); return e }
func (e *v1) str(s string) *v1     { e.uint(uint64(len(s))); e.b = append(e.b, s...); return e }
func (e *v1) time(t time.Time) *v1 { return e.int(t.UnixNano() + 1) }
func (e *v1) bool(v bool) *v1 {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
	return e
}

// v1Key is a key record as version 1 stored it: the ref tag, if any, in
// BodyHash after a space.
type v1Key struct {
	key, bodyHash, folder string
	uid                   uint32
	pending               bool
	size                  int64
	source, refID         string
	alt                   [2]string
}

type v1Ref struct {
	source, id            string
	state                 uint64
	key, bodyHash, folder string
	uid                   uint32
}

// writeV1 creates a version 1 state file at path holding keys, refs, one
// folder record and one run.
func writeV1(t *testing.T, path string, keys []v1Key, refs []v1Ref) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := map[string]*bolt.Bucket{}
		for _, name := range []string{"meta", "refs", "keys", "pending", "folders", "runs"} {
			var err error
			if b[name], err = tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		put := func(bucket, k string, v []byte) {
			if err == nil {
				err = b[bucket].Put([]byte(k), v)
			}
		}
		put("meta", "schema", binary.BigEndian.AppendUint64(nil, 1))
		put("meta", "created", newV1().time(at).b)
		for _, k := range keys {
			ck := k.key + "\x00" + k.bodyHash + "\x00" + k.folder
			put("keys", ck, newV1().uint(uint64(k.uid)).bool(k.pending).int(k.size).str(k.source).str(k.refID).time(at).b)
			if k.pending {
				pv := []byte{}
				if k.alt[0] != "" {
					pv = newV1().str(k.alt[0]).str(k.alt[1]).b
				}
				put("pending", ck, pv)
			}
		}
		for _, r := range refs {
			sb := b["refs"].Bucket([]byte(r.source))
			if sb == nil {
				if sb, err = b["refs"].CreateBucket([]byte(r.source)); err != nil {
					return err
				}
			}
			v := newV1().uint(r.state).str(r.key).str(r.bodyHash).str(r.folder).uint(uint64(r.uid)).time(at).time(at).b
			if err == nil {
				err = sb.Put([]byte(r.id), v)
			}
		}
		put("folders", "INBOX", newV1().bool(true).uint(77).b)
		put("runs", "\x00\x00\x00\x00\x00\x00\x00\x01", newV1().time(at).time(at).int(3).int(0).int(0).int(0).int(1000).str("done").b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dump returns every bucket, nested bucket and value of the file at path,
// by their path of names joined with "/".
func dump(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	var walk func(prefix string, b *bolt.Bucket) error
	walk = func(prefix string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				out[prefix+string(k)+"/"] = ""
				return walk(prefix+string(k)+"/", b.Bucket(k))
			}
			out[prefix+string(k)] = string(v)
			return nil
		})
	}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			out[string(name)+"/"] = ""
			return walk(string(name)+"/", b)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func schemaOf(t *testing.T, d map[string]string) uint64 {
	t.Helper()
	v := d["meta/schema"]
	if len(v) != 8 {
		t.Fatalf("meta/schema = %q, want 8 bytes", v)
	}
	return binary.BigEndian.Uint64([]byte(v))
}

// The records of the upgrade tests: messages 1 and 2 of source s are
// the same message copied twice under dedup: off (tags t1, t2), 3 a
// pending copy with a munged form (t3), and 4 a message of another
// source with no tag.
var (
	v1Keys = []v1Key{
		{key: "<a@x>", bodyHash: "h1 t1", folder: "INBOX", uid: 5, size: 100, source: "s", refID: "1"},
		{key: "<a@x>", bodyHash: "h1 t2", folder: "INBOX", uid: 6, size: 100, source: "s", refID: "2"},
		{key: "<a@x>", bodyHash: "h1 t3", folder: "Sent", pending: true, size: 100, source: "s", refID: "3",
			alt: [2]string{"<a@x>", "h1munged"}},
		{key: "<d@x>", bodyHash: "h4", folder: "INBOX", uid: 9, size: 50, source: "u", refID: "4"},
		{key: "<p@x>", bodyHash: "h5", folder: "INBOX", pending: true, size: 20, source: "u", refID: "5"},
	}
	v1Refs = []v1Ref{
		{source: "s", id: "1", state: 1, key: "<a@x>", bodyHash: "h1 t1", folder: "INBOX", uid: 5},
		{source: "s", id: "2", state: 1, key: "<a@x>", bodyHash: "h1 t2", folder: "INBOX", uid: 6},
		{source: "u", id: "4", state: 1, key: "<d@x>", bodyHash: "h4", folder: "INBOX", uid: 9},
		{source: "u", id: "6", state: 3, key: "<d@x>", bodyHash: "h4", folder: "INBOX", uid: 9},
	}
)

// wantUpgraded are the key records of v1Keys as version 2 reads them.
func wantUpgraded() (a, d, p []state.KeyRecord) {
	k := func(key, bh, tag, folder string, uid uint32, pending bool, size int64, src, id string) state.KeyRecord {
		return state.KeyRecord{Key: key, BodyHash: bh, RefTag: tag, Folder: folder, UID: uid, Pending: pending,
			Size: size, Source: src, RefID: id, At: at}
	}
	a = []state.KeyRecord{
		k("<a@x>", "h1", "t1", "INBOX", 5, false, 100, "s", "1"),
		k("<a@x>", "h1", "t2", "INBOX", 6, false, 100, "s", "2"),
		k("<a@x>", "h1", "t3", "Sent", 0, true, 100, "s", "3"),
	}
	d = []state.KeyRecord{k("<d@x>", "h4", "", "INBOX", 9, false, 50, "u", "4")}
	p = []state.KeyRecord{k("<p@x>", "h5", "", "INBOX", 0, true, 20, "u", "5")}
	return a, d, p
}

// checkUpgraded checks that s reads the records of v1Keys and v1Refs
// with their ref tags in their own fields.
func checkUpgraded(t *testing.T, s *state.Store) {
	t.Helper()
	a, d, p := wantUpgraded()
	checkLookup(t, s, "<a@x>", a...)
	checkLookup(t, s, "<d@x>", d...)
	checkLookup(t, s, "<p@x>", p...)

	pending, err := s.Pending()
	if err != nil {
		t.Fatalf("Pending() = %v", err)
	}
	wantPending := map[string]state.KeyRecord{}
	for _, k := range []state.KeyRecord{a[2], p[0]} {
		wantPending[k.Key] = k
	}
	pa := wantPending["<a@x>"]
	pa.AltKey, pa.AltBodyHash = "<a@x>", "h1munged"
	wantPending["<a@x>"] = pa
	gotPending := map[string]state.KeyRecord{}
	for _, k := range pending {
		gotPending[k.Key] = normKey(k)
	}
	for k, v := range wantPending {
		wantPending[k] = normKey(v)
	}
	if !reflect.DeepEqual(gotPending, wantPending) {
		t.Errorf("Pending() =\n %+v\nwant\n %+v", gotPending, wantPending)
	}

	ref := func(st state.RefState, key, bh, tag string, uid uint32) state.RefRecord {
		return state.RefRecord{State: st, Key: key, BodyHash: bh, RefTag: tag, Folder: "INBOX", UID: uid, FirstSeen: at, Done: at}
	}
	checkRef(t, s, "s", "1", ref(state.RefCopied, "<a@x>", "h1", "t1", 5))
	checkRef(t, s, "s", "2", ref(state.RefCopied, "<a@x>", "h1", "t2", 6))
	checkRef(t, s, "u", "4", ref(state.RefCopied, "<d@x>", "h4", "", 9))
	checkRef(t, s, "u", "6", ref(state.RefDuplicate, "<d@x>", "h4", "", 9))
	var ids []string
	if err := s.Refs("s", func(id string, r state.RefRecord) error {
		ids = append(ids, id+" "+r.RefTag)
		return nil
	}); err != nil || !reflect.DeepEqual(ids, []string{"1 t1", "2 t2"}) {
		t.Errorf("Refs(s) = %q, %v, want [1 t1, 2 t2], nil", ids, err)
	}
	var keys []string
	if err := s.Keys(func(k state.KeyRecord) error {
		keys = append(keys, k.Key+" "+k.BodyHash+" "+k.Folder+" "+k.RefTag)
		return nil
	}); err != nil || len(keys) != 5 {
		t.Errorf("Keys() = %q, %v, want 5 records", keys, err)
	}
}

// TestUpgradeV1 opens a version 1 file: the ref tags that version 1 kept
// in BodyHash are moved to RefTag in every key record (committed and
// pending, in the keys and pending buckets) and ref record, the other
// records keep their bytes, and the file is version 2. A second Open
// changes nothing.
func TestUpgradeV1(t *testing.T) {
	path := t.TempDir() + "/state.db"
	writeV1(t, path, v1Keys, v1Refs)
	before := dump(t, path)

	s := mustOpen(t, path, state.Options{})
	checkUpgraded(t, s)
	s.Close()

	after := dump(t, path)
	if v := schemaOf(t, after); v != 2 || state.SchemaVersion != 2 {
		t.Fatalf("schema version after Open = %d (SchemaVersion %d), want 2", v, state.SchemaVersion)
	}
	// What carries no tag keeps its bytes; what does moved.
	for _, k := range []string{"keys/<d@x>\x00h4\x00INBOX", "pending/<p@x>\x00h5\x00INBOX", "refs/u/4", "refs/u/6",
		"folders/INBOX", "runs/\x00\x00\x00\x00\x00\x00\x00\x01", "meta/created"} {
		if _, ok := before[k]; !ok || after[k] != before[k] {
			t.Errorf("%q = %q after the upgrade, want it unchanged: %q", k, after[k], before[k])
		}
	}
	for _, tag := range []string{"t1", "t2", "t3"} {
		folder := map[bool]string{true: "Sent", false: "INBOX"}[tag == "t3"]
		old, moved := "keys/<a@x>\x00h1 "+tag+"\x00"+folder, "keys/<a@x>\x00h1\x00"+folder+"\x00"+tag
		if _, ok := after[old]; ok || after[moved] != before[old] {
			t.Errorf("key record %s: not moved from %q to %q with its value", tag, old, moved)
		}
	}
	if _, ok := after["pending/<a@x>\x00h1\x00Sent\x00t3"]; !ok {
		t.Errorf("pending record of t3 not moved: %q", slices.Collect(maps.Keys(after)))
	}
	if len(after) != len(before) {
		t.Errorf("the upgrade changed the number of records from %d to %d", len(before), len(after))
	}

	s = mustOpen(t, path, state.Options{})
	checkUpgraded(t, s)
	s.Close()
	if again := dump(t, path); !maps.Equal(again, after) {
		t.Errorf("a second Open changed a version 2 file")
	}
}

// TestUpgradeV1ReadOnly opens a version 1 file read-only (a dry run or a
// check before any run of this release): it reads the records as the
// upgrade would write them, and leaves the file as it was.
func TestUpgradeV1ReadOnly(t *testing.T) {
	path := t.TempDir() + "/state.db"
	writeV1(t, path, v1Keys, v1Refs)
	before := dump(t, path)
	s := mustOpen(t, path, state.Options{ReadOnly: true})
	checkUpgraded(t, s)
	s.Close()
	if !maps.Equal(dump(t, path), before) {
		t.Errorf("a read-only Open changed a version 1 file")
	}
}

// TestRefTag checks that records differing only by their ref tag are
// distinct: Begin, Commit and Forget of one leave the other alone, and
// Commit gives the ref record the key record's tag.
func TestRefTag(t *testing.T) {
	s, _ := openTemp(t)
	k1 := state.KeyRecord{Key: "<m@x>", BodyHash: "h", Folder: "INBOX", RefTag: "t1", Size: 10, At: at}
	k2, k3 := k1, k1
	k2.RefTag, k3.RefTag = "t2", ""
	for _, k := range []state.KeyRecord{k1, k2, k3} {
		if err := s.Begin(ctx, k); err != nil {
			t.Fatalf("Begin(%+v) = %v", k, err)
		}
	}
	if err := s.Commit(ctx, state.KeyRecord{Key: "<m@x>", BodyHash: "h", Folder: "INBOX", RefTag: "t1", UID: 3, Size: 10, At: at},
		"s", "1", state.RefRecord{FirstSeen: at, Done: at}); err != nil {
		t.Fatalf("Commit() = %v", err)
	}
	if err := s.Forget(ctx, k2); err != nil {
		t.Fatalf("Forget() = %v", err)
	}
	s = reopen(t, s)
	c1 := k1
	c1.UID, c1.Source, c1.RefID = 3, "s", "1"
	p3 := k3
	p3.Pending = true
	checkLookup(t, s, "<m@x>", p3, c1) // no tag sorts first
	checkRef(t, s, "s", "1", state.RefRecord{State: state.RefCopied, Key: "<m@x>", BodyHash: "h", RefTag: "t1",
		Folder: "INBOX", UID: 3, FirstSeen: at, Done: at})

	bad := k1
	bad.RefTag = "a\x00b"
	if err := s.Begin(ctx, bad); err == nil {
		t.Errorf("Begin() with a NUL in RefTag = nil, want an error")
	}
}

// TestUpgradeV1Killed kills (SIGKILL) a process at random moments while
// its Open upgrades a large version 1 file, and checks that the file is
// then either the version 1 file untouched or the upgraded file whole.
func TestUpgradeV1Killed(t *testing.T) {
	dir := t.TempDir()
	orig, done := dir+"/v1.db", dir+"/v2.db"
	var keys []v1Key
	var refs []v1Ref
	for n := range 20000 {
		id := strconv.Itoa(n)
		keys = append(keys, v1Key{key: "<" + id + "@x>", bodyHash: "h t" + id, folder: "INBOX", uid: uint32(n + 1),
			size: 100, source: "s", refID: id})
		refs = append(refs, v1Ref{source: "s", id: id, state: 1, key: "<" + id + "@x>", bodyHash: "h t" + id,
			folder: "INBOX", uid: uint32(n + 1)})
	}
	writeV1(t, orig, keys, refs)
	v1Dump := dump(t, orig)
	copyFile(t, orig, done)
	start := time.Now()
	s := mustOpen(t, done, state.Options{})
	took := time.Since(start)
	s.Close()
	v2Dump := dump(t, done)
	if maps.Equal(v1Dump, v2Dump) || schemaOf(t, v2Dump) != 2 {
		t.Fatalf("Open did not upgrade the file")
	}

	// The helper takes a while to start before its Open begins: kill it
	// at a random moment from then to the end of the upgrade.
	start = time.Now()
	cmd, out := helper(t, "open", done, nil)
	if !out.Scan() {
		t.Fatalf("helper: %v", cmd.Wait())
	}
	startup := time.Since(start)
	cmd.Wait()

	rounds := 8
	if testing.Short() {
		rounds = 2
	}
	outcome := map[string]int{}
	for range rounds {
		path := dir + "/state.db"
		copyFile(t, orig, path)
		cmd, out := helper(t, "open", path, nil)
		time.Sleep(startup/2 + time.Duration(rand.Int64N(int64(startup+2*took))))
		cmd.Process.Kill()
		for out.Scan() {
		}
		cmd.Wait()
		switch got := dump(t, path); {
		case maps.Equal(got, v1Dump):
			outcome["version 1 untouched"]++
		case maps.Equal(got, v2Dump):
			outcome["version 2 whole"]++
		default:
			t.Fatalf("after a kill during the upgrade the file is neither version 1 untouched nor version 2 whole (schema %d)", schemaOf(t, got))
		}
	}
	t.Logf("upgrade took %v, a helper's start and Open of the upgraded file %v; after %d kills: %v", took, startup, rounds, outcome)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, b, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
}
