package state_test

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/state"
)

// TestErrorsPrefixedOnce checks that an error of the store names the
// package once, in front of the operation ("state begin: ..."), also
// when it wraps one of the package's sentinel errors: callers print it
// as it is.
func TestErrorsPrefixedOnce(t *testing.T) {
	s, path := openTemp(t)
	ro := func() *state.Store {
		s.Close()
		return mustOpen(t, path, state.Options{ReadOnly: true})
	}
	k := state.KeyRecord{Key: "k", BodyHash: "h", Folder: "INBOX"}
	for _, c := range []struct {
		name, want string
		err        func() error
	}{
		{"bad record", "state begin: empty key", func() error { return s.Begin(ctx, state.KeyRecord{}) }},
		{"locked", "state open " + path + ": file is locked by another run", func() error {
			_, err := state.Open(path, state.Options{})
			return err
		}},
		{"read-only", "state begin: store is read-only", func() error { return ro().Begin(ctx, k) }},
		{"closed", "state commit: store is closed", func() error {
			s := mustOpen(t, path+"2", state.Options{})
			s.Close()
			return s.Commit(ctx, k, "src", "1", state.RefRecord{})
		}},
	} {
		err := c.err()
		if err == nil || err.Error() != c.want || strings.Count(err.Error(), "state ") != 1 {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
