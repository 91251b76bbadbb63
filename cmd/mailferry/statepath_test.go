package main

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// TestStateUnusable checks which failures to open the state file are
// configuration errors (exit 2): those of its path or file system, not a
// full disk, a lock, or an error about another file.
func TestStateUnusable(t *testing.T) {
	const path = "/srv/mail/state.db"
	wrap := func(op, p string, errno error) error {
		return fmt.Errorf("state open %s: %w", path, &fs.PathError{Op: op, Path: p, Err: errno})
	}
	for _, c := range []struct {
		name   string
		err    error
		config bool
	}{
		{"read-only file system", wrap("open", path, syscall.EROFS), true},
		{"no permission", wrap("open", path, syscall.EACCES), true},
		{"immutable", wrap("open", path, syscall.EPERM), true},
		{"parent is a file", wrap("mkdir", "/srv/mail", syscall.ENOTDIR), true},
		{"path is a directory", wrap("open", path, syscall.EISDIR), true},
		{"full disk", wrap("write", path, syscall.ENOSPC), false},
		{"another file", wrap("open", "/etc/ca.pem", syscall.EACCES), false},
		{"a sibling", wrap("open", "/srv/mail/state.db2", syscall.EACCES), false},
		{"no path error", errors.New("state file is locked"), false},
	} {
		got := stateUnusable(path, c.err)
		var cfg *configError
		if errors.As(got, &cfg) != c.config || exitCode(got) != map[bool]int{true: exitUsage, false: exitFailed}[c.config] {
			t.Errorf("%s: stateUnusable() = %v (exit %d), want a config error: %v", c.name, got, exitCode(got), c.config)
		}
		if !c.config && got != c.err {
			t.Errorf("%s: stateUnusable() changed the error to %v", c.name, got)
		}
	}
}
