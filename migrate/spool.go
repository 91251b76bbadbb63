package migrate

import (
	"errors"
	"fmt"
	"io"
	"os"
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
type spool struct {
	buf       []byte
	f         *os.File
	size      int64
	threshold int64
	dir       string
	named     bool  // the temp file still has a name to remove
	err       error // the write error that spoiled the spool
}

func newSpool(sizeHint, threshold int64, dir string) *spool {
	s := &spool{threshold: threshold, dir: dir}
	if sizeHint > 0 && sizeHint <= threshold {
		s.buf = make([]byte, 0, sizeHint)
	}
	return s
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.f == nil && int64(len(s.buf)+len(p)) > s.threshold {
		if err := s.toFile(); err != nil {
			return 0, s.spoil(err)
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
		return n, s.spoil(err)
	}
	return n, nil
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
