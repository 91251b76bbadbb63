package state

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RefState says what was done with a source message.
type RefState uint8

const (
	// RefCopied: this run appended the message to the target.
	RefCopied RefState = iota + 1
	// RefPresent: the message was already in the target (found by the
	// folder index or by crash recovery) and was not appended again.
	RefPresent
	// RefDuplicate: a message with the same key and body hash had already
	// been copied from elsewhere in the dedup scope.
	RefDuplicate
)

// String returns "copied", "present", "duplicate" or "RefState(n)".
func (s RefState) String() string {
	switch s {
	case RefCopied:
		return "copied"
	case RefPresent:
		return "present"
	case RefDuplicate:
		return "duplicate"
	}
	return fmt.Sprintf("RefState(%d)", uint8(s))
}

// A RefRecord says what was done with one source message: a source
// message that has a RefRecord is done and is skipped by later runs.
type RefRecord struct {
	State RefState
	// Key, BodyHash and RefTag identify the message and its key record
	// (see KeyRecord).
	Key, BodyHash, RefTag string
	// Folder and UID locate the message in the target; UID is 0 when the
	// target did not report one.
	Folder string
	UID    uint32
	// FirstSeen is when a run first listed the message; Done is when
	// this record was written.
	FirstSeen, Done time.Time
}

// A KeyRecord is one entry of the dedup index: a message with key Key
// and body hash BodyHash is (or, while Pending, may be) in target folder
// Folder. Records are unique per (Key, BodyHash, Folder, RefTag).
type KeyRecord struct {
	// Key is "<message-id>" (the Message-ID without its angle brackets)
	// or "sha256:<hex>" for a message without a usable Message-ID.
	Key string
	// BodyHash tells apart different messages reusing a Message-ID.
	BodyHash string
	// RefTag tells apart the records of different source messages with
	// the same identity in one folder: "" when the dedup scope lets one
	// copy stand for all of them, a tag naming the source message when
	// every source message gets its own copy (migrate's dedup: off).
	// Schema version 1 kept it at the end of BodyHash, after a space.
	RefTag string
	// Folder is the target folder; UID the message's UID there (0 while
	// pending, or when the target reported none).
	Folder string
	UID    uint32
	// Pending is true from Begin until Commit: the message may or may not
	// have reached the target.
	Pending bool
	// Size is the message's size as an IMAP server reports it (RFC822.SIZE:
	// line ends counted as CRLF), to find a copy without a Message-ID.
	Size int64
	// Source and RefID name the source message the record came from.
	Source, RefID string
	// At is when the record was last written.
	At time.Time
	// AltKey and AltBodyHash are another identity under which the target
	// may hold the message, "" when none: the message as a server that
	// rewrites it stores it (see migrate). Only a pending record keeps
	// them (in the pending bucket): Pending returns them, Lookup and Keys
	// do not, and Commit drops them.
	AltKey, AltBodyHash string
}

// A FolderRecord is what the store knows about a target folder.
type FolderRecord struct {
	// Indexed is true once the folder's existing Message-IDs were read
	// from the server into the dedup index.
	Indexed bool
	// UIDValidity is the folder's UIDVALIDITY when it was indexed; a
	// different value on the server means the UIDs stored are stale.
	UIDValidity uint32
}

// A Run is one line of the run history.
type Run struct {
	Start, End                          time.Time
	Copied, Present, Duplicates, Failed int
	Bytes                               int64
	// Result is a short word or sentence: "done", "interrupted", an error.
	Result string
}

// keySep separates the parts of a composite key record key.
const keySep = 0x00

// errKeyPart reports a key, body hash, folder or ref tag that cannot be
// stored.
var errKeyPart = errors.New("key, body hash, folder and ref tag must not contain NUL")

// compositeKey returns "Key 0x00 BodyHash 0x00 Folder", followed by
// "0x00 RefTag" when k has a ref tag: the bolt key of k. Keys sort as
// (Key, BodyHash, Folder, RefTag) do, a record without a tag first, and a
// record without a tag has the key that schema version 1 gave it.
func compositeKey(k KeyRecord) ([]byte, error) {
	if k.Key == "" {
		return nil, errors.New("empty key")
	}
	for _, s := range []string{k.Key, k.BodyHash, k.Folder, k.RefTag} {
		if strings.IndexByte(s, keySep) >= 0 {
			return nil, errKeyPart
		}
	}
	n := len(k.Key) + len(k.BodyHash) + len(k.Folder) + 2
	if k.RefTag != "" {
		n += 1 + len(k.RefTag)
	}
	if n > bolt.MaxKeySize {
		return nil, fmt.Errorf("key record key is %d bytes, over %d", n, bolt.MaxKeySize)
	}
	b := make([]byte, 0, n)
	b = append(b, k.Key...)
	b = append(b, keySep)
	b = append(b, k.BodyHash...)
	b = append(b, keySep)
	b = append(b, k.Folder...)
	if k.RefTag != "" {
		b = append(b, keySep)
		b = append(b, k.RefTag...)
	}
	return b, nil
}

// lookupPrefix returns "Key 0x00": the separator keeps key "a" from
// matching key "ab".
func lookupPrefix(key string) []byte {
	return append([]byte(key), keySep)
}

// splitCompositeKey undoes compositeKey: it sets k's Key, BodyHash,
// Folder and RefTag.
func splitCompositeKey(k *KeyRecord, b []byte) error {
	parts := bytes.SplitN(b, []byte{keySep}, 4)
	if len(parts) < 3 || (len(parts) == 4 && len(parts[3]) == 0) {
		return errCorrupt
	}
	k.Key, k.BodyHash, k.Folder = string(parts[0]), string(parts[1]), string(parts[2])
	if len(parts) == 4 {
		k.RefTag = string(parts[3])
	}
	return nil
}

// encodeKey encodes the fields of k that are not in its bolt key.
func encodeKey(k KeyRecord) []byte {
	e := newEncoder(32 + len(k.Source) + len(k.RefID))
	e.uint(uint64(k.UID))
	e.bool(k.Pending)
	e.int(k.Size)
	e.string(k.Source)
	e.string(k.RefID)
	e.time(k.At)
	return e.b
}

// decodeKey rebuilds a KeyRecord from its bolt key and value.
func decodeKey(ck, v []byte) (KeyRecord, error) {
	var k KeyRecord
	if err := splitCompositeKey(&k, ck); err != nil {
		return k, err
	}
	d := newDecoder(v)
	k.UID = d.uint32()
	k.Pending = d.bool()
	k.Size = d.int()
	k.Source = d.string()
	k.RefID = d.string()
	k.At = d.time()
	return k, d.finish()
}

// encodePending encodes what the pending bucket holds for k: its
// alternative identity, or nothing.
func encodePending(k KeyRecord) []byte {
	if k.AltKey == "" && k.AltBodyHash == "" {
		return []byte{}
	}
	e := newEncoder(8 + len(k.AltKey) + len(k.AltBodyHash))
	e.string(k.AltKey)
	e.string(k.AltBodyHash)
	return e.b
}

// decodePending adds to k what the pending bucket holds for it. An empty
// value (all that releases before AltKey wrote) is no alternative.
func decodePending(k *KeyRecord, v []byte) error {
	if len(v) == 0 {
		return nil
	}
	d := newDecoder(v)
	k.AltKey = d.string()
	k.AltBodyHash = d.string()
	return d.finish()
}

// encodeRef encodes r. RefTag comes last and only when it is set, so that
// a record without one is encoded as schema version 1 encoded it.
func encodeRef(r RefRecord) []byte {
	e := newEncoder(48 + len(r.Key) + len(r.BodyHash) + len(r.Folder) + len(r.RefTag))
	e.uint(uint64(r.State))
	e.string(r.Key)
	e.string(r.BodyHash)
	e.string(r.Folder)
	e.uint(uint64(r.UID))
	e.time(r.FirstSeen)
	e.time(r.Done)
	if r.RefTag != "" {
		e.string(r.RefTag)
	}
	return e.b
}

func decodeRef(v []byte) (RefRecord, error) {
	var r RefRecord
	d := newDecoder(v)
	st := d.uint()
	if st > 255 {
		return r, errCorrupt
	}
	r.State = RefState(st)
	r.Key = d.string()
	r.BodyHash = d.string()
	r.Folder = d.string()
	r.UID = d.uint32()
	r.FirstSeen = d.time()
	r.Done = d.time()
	if d.more() {
		if r.RefTag = d.string(); r.RefTag == "" {
			return r, errCorrupt // encodeRef writes no empty tag
		}
	}
	return r, d.finish()
}

func encodeFolder(f FolderRecord) []byte {
	e := newEncoder(8)
	e.bool(f.Indexed)
	e.uint(uint64(f.UIDValidity))
	return e.b
}

func decodeFolder(v []byte) (FolderRecord, error) {
	var f FolderRecord
	d := newDecoder(v)
	f.Indexed = d.bool()
	f.UIDValidity = d.uint32()
	return f, d.finish()
}

func encodeRun(r Run) []byte {
	e := newEncoder(48 + len(r.Result))
	e.time(r.Start)
	e.time(r.End)
	for _, n := range []int{r.Copied, r.Present, r.Duplicates, r.Failed} {
		e.int(int64(n))
	}
	e.int(r.Bytes)
	e.string(r.Result)
	return e.b
}

func decodeRun(v []byte) (Run, error) {
	var r Run
	d := newDecoder(v)
	r.Start = d.time()
	r.End = d.time()
	for _, p := range []*int{&r.Copied, &r.Present, &r.Duplicates, &r.Failed} {
		*p = int(d.int())
	}
	r.Bytes = d.int()
	r.Result = d.string()
	return r, d.finish()
}
