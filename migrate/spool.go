package migrate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// A spool holds one message between its read from the source and its
// upload: in memory up to a threshold, past it in a temp file (mode 0600).
// The file's name is removed as soon as it is created, where the system
// allows it, so that a killed process leaves no message behind on disk;
// otherwise it is removed on Close. It is an io.Writer while filling and an io.ReaderAt
// after.
//
// A write that fails (a full disk) spoils the spool: the temp file is
// removed at once, to give the space back, and every later Write and
// ReadAt returns that error, so that no part of the message can be
// uploaded as if it were whole.
//
// Memory: the spool is given the bytes of memory charged for it (against
// the run's budget) and never holds a buffer larger than that: to hold
// more it calls grow for the difference first, which waits for room in
// the budget. So whatever size a source announced, the bytes in memory
// never exceed what the budget was charged.
type spool struct {
	buf       []byte
	f         *os.File
	size      int64
	threshold int64
	dir       string
	named     bool  // the temp file still has a name to remove
	err       error // the write error that spoiled the spool
	charged   int64 // memory charged for the spool: cap(buf) <= charged
	grow      func(n int64) error
	// fileFirst sends the message to the temp file at the first write,
	// for a message known (or estimated) to be larger than threshold:
	// no buffer grown step by step only to be copied to the file.
	fileFirst bool
}

// newSpool returns a spool for one message. charged is the memory
// charged for it (at most threshold); grow charges n more, and returns
// an error when it cannot (the run ends); it may be nil when charged is
// the threshold (it is then never called). When prealloc is set, the
// buffer is made with room for charged bytes at once (the size is known
// or estimated).
func newSpool(charged, threshold int64, dir string, prealloc bool, grow func(n int64) error) *spool {
	s := &spool{threshold: threshold, dir: dir, charged: charged, grow: grow}
	if prealloc && charged > 0 {
		s.buf = make([]byte, 0, charged)
	}
	return s
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	need := int64(len(s.buf) + len(p))
	if s.f == nil && (need > s.threshold || s.fileFirst) {
		if err := s.toFile(); err != nil {
			return 0, s.spoil(err)
		}
	}
	if s.f == nil {
		if need > int64(cap(s.buf)) {
			if err := s.reserve(need); err != nil {
				return 0, s.spoil(err)
			}
		}
		s.buf = append(s.buf, p...)
		s.size += int64(len(p))
		return len(p), nil
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	if err != nil {
		return n, s.spoil(err)
	}
	return n, nil
}

// reserve makes the buffer's capacity at least need (<= threshold),
// growing by an eighth at least, and charges the memory it lacks first.
func (s *spool) reserve(need int64) error {
	c := int64(cap(s.buf))
	c = min(max(need, c+c/8), s.threshold)
	if c > s.charged {
		if err := s.grow(c - s.charged); err != nil {
			return err
		}
		s.charged = c
	}
	buf := make([]byte, len(s.buf), c)
	copy(buf, s.buf)
	s.buf = buf
	return nil
}

// trim gives back the memory charged beyond what the spool holds once it
// is written: the buffer's capacity, or nothing once the message went to
// a temp file (then the charge stays: it bounds the spooled messages in
// flight as before). A buffer less than half full (a size overestimated)
// is first copied into one of the message's size. It returns the bytes
// to release from the budget.
func (s *spool) trim() int64 {
	if s.f != nil || s.err != nil {
		return 0
	}
	if cap(s.buf) > 2*len(s.buf) {
		s.buf = slices.Clone(s.buf)
	}
	extra := s.charged - int64(cap(s.buf))
	s.charged -= extra
	return extra
}

// toFile moves the message written so far to a new temp file.
func (s *spool) toFile() error {
	f, err := os.CreateTemp(s.dir, "mailferry-spool-*")
	if err != nil {
		return err
	}
	s.f = f
	// Open files keep their data without a name on Unix; elsewhere the
	// name stays until Close.
	s.named = os.Remove(f.Name()) != nil
	_, err = f.Write(s.buf)
	s.buf = nil
	return err
}

// spoil records err, the end of the spool, and removes the temp file.
func (s *spool) spoil(err error) error {
	s.err = fmt.Errorf("spool message to disk: %w", err)
	s.buf = nil
	if rerr := s.removeFile(); rerr != nil {
		s.err = errors.Join(s.err, rerr)
	}
	return s.err
}

func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.f != nil {
		return s.f.ReadAt(p, off)
	}
	if off >= int64(len(s.buf)) {
		return 0, io.EOF
	}
	n := copy(p, s.buf[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size is the number of bytes written.
func (s *spool) Size() int64 { return s.size }

// Bytes returns the message when it is held in memory, else nil.
func (s *spool) Bytes() []byte { return s.buf }

// Close frees the memory or removes the temp file.
func (s *spool) Close() error {
	s.buf = nil
	return s.removeFile()
}

// removeFile closes and removes the temp file, if there is one.
func (s *spool) removeFile() error {
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	err := s.f.Close()
	s.f = nil
	if s.named {
		s.named = false
		err = errors.Join(err, os.Remove(name))
	}
	return err
}
