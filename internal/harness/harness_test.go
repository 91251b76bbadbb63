package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestStartOnFreePorts(t *testing.T) {
	other := errors.New("config refused")
	for _, c := range []struct {
		name      string
		errs      []error
		wantCalls int
		want      error
	}{
		{"first", []error{nil}, 1, nil},
		{"second", []error{ErrAddrInUse, nil}, 2, nil},
		{"busy thrice", []error{ErrAddrInUse, ErrAddrInUse, fmt.Errorf("imap: %w", ErrAddrInUse), nil}, StartAttempts, ErrAddrInUse},
		{"other error", []error{other, nil}, 1, other},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			err := StartOnFreePorts(func() error { calls++; return c.errs[calls-1] })
			if calls != c.wantCalls || !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("%d calls, %v; want %d calls, %v", calls, err, c.wantCalls, c.want)
			}
			if err != nil && err != c.errs[calls-1] {
				t.Errorf("error %v is not launch's last error %v as it is", err, c.errs[calls-1])
			}
		})
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil || len(ports) != 3 || ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		t.Errorf("FreePorts(3) = %v, %v; want 3 distinct ports", ports, err)
	}
}

func TestTail(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a\nb\nc\n", "b\nc"},
		{"a\nb\nc", "b\nc"},
		{"c\n", "c"},
		{"", ""},
	} {
		if got := Tail(c.in, 2); got != c.want {
			t.Errorf("Tail(%q, 2) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestReapStale(t *testing.T) {
	parent := t.TempDir()
	mk := func(name, owner string) string {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	dead := mk("inst-dead", "2147483646") // above pid_max: no such process
	live := mk("inst-live", strconv.Itoa(os.Getpid()))
	none := mk("inst-none", "")
	other := mk("other-dead", "2147483646")
	var before []string
	pattern := filepath.Join(parent, "inst-*")
	ReapStale([]string{pattern, pattern}, func(dir string) string { return filepath.Join(dir, "owner.pid") },
		func(dir string) { before = append(before, dir) })
	for dir, wantGone := range map[string]bool{dead: true, live: false, none: false, other: false} {
		if _, err := os.Stat(dir); os.IsNotExist(err) != wantGone {
			t.Errorf("%s: gone = %v, want %v", dir, !wantGone, wantGone)
		}
	}
	if len(before) != 1 || before[0] != dead {
		t.Errorf("before called on %q, want once on %s", before, dead)
	}
}
