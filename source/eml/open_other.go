//go:build !unix

package eml

import (
	"errors"
	"io/fs"
	"os"
)

// openFile opens a regular file of the tree and returns it with its
// FileInfo; anything else is an error.
func (s *Source) openFile(name string) (*os.File, fs.FileInfo, error) {
	fi, err := s.root.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file")
	}
	f, err := s.root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}
