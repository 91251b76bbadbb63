package state

import (
	"errors"
	"testing"
	"time"
)

// TestDecodeTruncated checks that every truncation of a valid value is
// reported as corrupt rather than decoded or panicking.
func TestDecodeTruncated(t *testing.T) {
	now := time.Now()
	k := KeyRecord{UID: 9, Pending: true, Size: 1234, Source: "src", RefID: "id", At: now}
	values := map[string][]byte{
		"key":    encodeKey(k),
		"ref":    encodeRef(RefRecord{State: RefCopied, Key: "k", BodyHash: "h", Folder: "F", UID: 3, FirstSeen: now, Done: now}),
		"folder": encodeFolder(FolderRecord{Indexed: true, UIDValidity: 77}),
		"run":    encodeRun(Run{Start: now, End: now, Copied: 1, Result: "done"}),
	}
	decode := map[string]func([]byte) error{
		"key":    func(v []byte) error { _, err := decodeKey([]byte("k\x00h\x00F"), v); return err },
		"ref":    func(v []byte) error { _, err := decodeRef(v); return err },
		"folder": func(v []byte) error { _, err := decodeFolder(v); return err },
		"run":    func(v []byte) error { _, err := decodeRun(v); return err },
	}
	for name, v := range values {
		if err := decode[name](v); err != nil {
			t.Fatalf("decode %s(full value) = %v, want nil", name, err)
		}
		for n := range len(v) {
			if err := decode[name](v[:n]); !errors.Is(err, errCorrupt) {
				t.Errorf("decode %s(first %d of %d bytes) = %v, want errCorrupt", name, n, len(v), err)
			}
		}
		if err := decode[name](append(v, 0)); !errors.Is(err, errCorrupt) {
			t.Errorf("decode %s(value + 1 byte) = %v, want errCorrupt", name, err)
		}
	}
}

func TestTimeEncoding(t *testing.T) {
	for _, want := range []time.Time{{}, time.Unix(0, 0), time.Unix(0, -1), time.Unix(0, 1), time.Unix(-5, 0), time.Date(2200, 1, 1, 0, 0, 0, 1, time.UTC)} {
		e := newEncoder(12)
		e.time(want)
		d := newDecoder(e.b)
		got := d.time()
		if err := d.finish(); err != nil || !got.Equal(want) || got.IsZero() != want.IsZero() {
			t.Errorf("time round trip of %v = %v, %v, want %v", want, got, err, want)
		}
	}
}
