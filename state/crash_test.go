package state_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailferry/mailferry/state"
)

// TestCrashDuringCommits kills (SIGKILL) a process committing from 8
// goroutines at a random moment, several times over the same file, and
// checks after each kill that every Commit that returned is on disk and
// that no message has only half of its commit (key without ref or ref
// without committed key).
func TestCrashDuringCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		base := round * 1_000_000
		begun, committed := crashRound(t, path, base, 20+rand.IntN(400))
		if len(committed) == 0 {
			t.Fatalf("round %d: no Commit returned before the kill", round)
		}
		t.Logf("round %d: killed after %d Begin and %d Commit calls returned", round, len(begun), len(committed))
		checkCrashState(t, path, base, begun, committed)
	}
}

// crashRound runs the commit-loop helper until it has reported want
// commits, kills it and returns the messages it reported begun and
// committed (including lines printed before it died).
func crashRound(t *testing.T, path string, base, want int) (begun, committed map[int]bool) {
	t.Helper()
	cmd, out := helper(t, "commit-loop", path, nil, fmt.Sprintf("%s=%d", helperBaseEnv, base))
	begun, committed = map[int]bool{}, map[int]bool{}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	for out.Scan() {
		var kind string
		var n int
		if _, err := fmt.Sscanf(out.Text(), "%s %d", &kind, &n); err != nil {
			t.Fatalf("helper said %q: %v", out.Text(), err)
		}
		if kind == "b" {
			begun[n] = true
		} else {
			committed[n] = true
		}
		if len(committed) == want {
			cmd.Process.Kill() // SIGKILL; keep reading what it printed before.
		}
	}
	cmd.Wait()
	if len(committed) < want {
		t.Fatalf("helper reported %d commits, want %d before the kill", len(committed), want)
	}
	return begun, committed
}

func checkCrashState(t *testing.T, path string, base int, begun, committed map[int]bool) {
	t.Helper()
	s := mustOpen(t, path, state.Options{})
	defer s.Close()
	last := base
	for n := range begun {
		last = max(last, n)
	}
	for n := base; n <= last+8; n++ {
		k, src, id, _ := crashRecord(n)
		recs, err := s.Lookup(k.Key)
		if err != nil {
			t.Fatal(err)
		}
		_, hasRef, err := s.Ref(src, id)
		if err != nil {
			t.Fatal(err)
		}
		hasCommitted := len(recs) == 1 && !recs[0].Pending && recs[0].UID == k.UID
		switch {
		case committed[n] && !(hasCommitted && hasRef):
			t.Fatalf("message %d: Commit returned but after the kill committed=%v ref=%v, want both", n, hasCommitted, hasRef)
		case hasCommitted != hasRef:
			t.Fatalf("message %d: half a commit after the kill: committed key=%v ref=%v", n, hasCommitted, hasRef)
		case begun[n] && len(recs) != 1:
			t.Fatalf("message %d: Begin returned but Lookup = %+v, want one record", n, recs)
		}
	}
}

// TestCrashBeforeCommit kills a process between Begin and Commit: the key
// must be pending, with no committed key record and no ref record.
func TestCrashBeforeCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	cmd, out := helper(t, "begin-then-wait", path, nil)
	if !out.Scan() || out.Text() != "begun" {
		t.Fatalf("helper said %q, %v, want begun", out.Text(), out.Err())
	}
	cmd.Process.Kill()
	cmd.Wait()

	s := mustOpen(t, path, state.Options{})
	k, src, id, _ := crashRecord(-1)
	k.Pending = true
	pending, err := s.Pending()
	if err != nil || len(pending) != 1 || pending[0].Key != k.Key {
		t.Fatalf("Pending() = %+v, %v, want [%s]", pending, err, k.Key)
	}
	recs, _ := s.Lookup(k.Key)
	if len(recs) != 1 || !recs[0].Pending {
		t.Errorf("Lookup() = %+v, want only the pending record", recs)
	}
	if _, ok, err := s.Ref(src, id); ok || err != nil {
		t.Errorf("Ref() = _, %v, %v, want false, nil", ok, err)
	}
}
