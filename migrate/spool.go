package migrate

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// A spool holds one message between its read from the source and its
// upload: in memory up to a threshold, past it in a temp file (mode 0600,
// removed on Close). It is an io.Writer while filling and an io.ReaderAt
// after.
type spool struct {
	buf       []byte
	f         *os.File
	size      int64
	threshold int64
	dir       string
}

func newSpool(sizeHint, threshold int64, dir string) *spool {
	s := &spool{threshold: threshold, dir: dir}
	if sizeHint > 0 && sizeHint <= threshold {
		s.buf = make([]byte, 0, sizeHint)
	}
	return s
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && int64(len(s.buf)+len(p)) > s.threshold {
		if err := s.toFile(); err != nil {
			return 0, err
		}
	}
	if s.f == nil {
		s.buf = append(s.buf, p...)
		s.size += int64(len(p))
		return len(p), nil
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("spool: %w", err)
	}
	return n, nil
}

func (s *spool) toFile() error {
	f, err := os.CreateTemp(s.dir, "mailferry-spool-*")
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(s.buf); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("spool: %w", err)
	}
	s.f, s.buf = f, nil
	return nil
}

func (s *spool) ReadAt(p []byte, off int64) (int, error) {
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
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	err := s.f.Close()
	s.f = nil
	return errors.Join(err, os.Remove(name))
}
