package state

import (
	"encoding/binary"
	"errors"
	"time"
)

// valueFormat is the first byte of every encoded record value, so that a
// later release can change an encoding without a schema migration.
const valueFormat = 1

// errCorrupt reports a record value that does not decode.
var errCorrupt = errors.New("corrupt record")

// encoder appends fields to a byte slice: unsigned and signed varints,
// length-prefixed strings and instants.
type encoder struct{ b []byte }

func newEncoder(capacity int) *encoder {
	e := &encoder{b: make([]byte, 0, capacity)}
	e.b = append(e.b, valueFormat)
	return e
}

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) string(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
		return
	}
	e.b = append(e.b, 0)
}

// time stores t at nanosecond precision without its location: 0 is the
// zero time, n+1 an instant n >= 0 nanoseconds after the Unix epoch and a
// negative n an instant before it. Instants outside the years 1678-2262
// are not representable.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.int(0)
		return
	}
	n := t.UnixNano()
	if n >= 0 {
		n++
	}
	e.int(n)
}

// decoder reads what encoder wrote. The first error sticks: later reads
// return zero values and err reports it.
type decoder struct {
	b   []byte
	err error
}

func newDecoder(b []byte) *decoder {
	d := &decoder{b: b}
	if len(b) == 0 || b[0] != valueFormat {
		d.err = errCorrupt
		return d
	}
	d.b = b[1:]
	return d
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.err = errCorrupt
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint32() uint32 {
	v := d.uint()
	if v > 1<<32-1 {
		d.err = errCorrupt
		return 0
	}
	return uint32(v)
}

func (d *decoder) time() time.Time {
	n := d.int()
	switch {
	case d.err != nil || n == 0:
		return time.Time{}
	case n > 0:
		n--
	}
	return time.Unix(0, n)
}

// more reports whether bytes are left to decode and no error occurred,
// for an optional last field.
func (d *decoder) more() bool { return d.err == nil && len(d.b) != 0 }

// finish reports the first error, or errCorrupt when bytes are left over
// that this release does not know.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return d.err
}
