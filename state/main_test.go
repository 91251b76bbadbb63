package state_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/state"
)

// The test binary doubles as the helper process of the lock and crash
// tests, as the standard library's os/exec tests do: with helperEnv set,
// TestMain runs the named helper instead of the tests.
const (
	helperEnv     = "MAILFERRY_STATE_HELPER"
	helperPathEnv = "MAILFERRY_STATE_HELPER_PATH"
	helperBaseEnv = "MAILFERRY_STATE_HELPER_BASE"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		if err := runHelper(name, os.Getenv(helperPathEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(name, path string) error {
	s, err := state.Open(path, state.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer s.Close()
	switch name {
	case "hold":
		return holdLock()
	case "commit-loop":
		base, _ := strconv.Atoi(os.Getenv(helperBaseEnv))
		return commitLoop(s, base)
	case "begin-then-wait":
		return beginThenWait(s)
	case "open":
		fmt.Println("opened")
		return nil
	}
	return fmt.Errorf("unknown helper %q", name)
}

// holdLock reports that the lock is held and waits for stdin to close.
func holdLock() error {
	fmt.Println("ready")
	_, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// commitLoop runs 8 workers that Begin then Commit message base+n for
// n = 0, 1, ..., printing "b n" after Begin and "c n" after Commit
// return, until it is killed (or reaches a bound it never should).
func commitLoop(s *state.Store, base int) error {
	ctx := context.Background()
	var mu sync.Mutex
	say := func(format string, n int) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for n := base + w; n < base+1_000_000; n += 8 {
				k, src, id, r := crashRecord(n)
				if err := s.Begin(ctx, k); err != nil {
					errs <- err
					return
				}
				say("b %d", n)
				if err := s.Commit(ctx, k, src, id, r); err != nil {
					errs <- err
					return
				}
				say("c %d", n)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func beginThenWait(s *state.Store) error {
	k, _, _, _ := crashRecord(-1)
	if err := s.Begin(context.Background(), k); err != nil {
		return err
	}
	fmt.Println("begun")
	time.Sleep(time.Minute) // The parent kills us long before.
	return nil
}

// crashRecord returns the records the crash helpers write for message n.
func crashRecord(n int) (state.KeyRecord, string, string, state.RefRecord) {
	k := state.KeyRecord{
		Key:      fmt.Sprintf("crash-%d@example.org", n),
		BodyHash: "h",
		Folder:   "INBOX",
		UID:      uint32(n + 2),
		Size:     100,
		Source:   crashSource,
		RefID:    fmt.Sprintf("uidl-%d", n),
	}
	return k, crashSource, k.RefID, state.RefRecord{}
}

const crashSource = "pop3s://alice@pop.example.org:995"

// helper starts the test binary as the named helper on path.
// stdin may be nil.
func helper(t *testing.T, name, path string, stdin io.Reader, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+name, helperPathEnv+"="+path)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}
