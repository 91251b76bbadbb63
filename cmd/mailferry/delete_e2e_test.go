package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// withDelete sets the POP3 source's delete policy (the source is the last
// entry of the config) and a short settle for the runs a test kills.
func (e *e2e) withDelete(policy string) {
	e.t.Helper()
	f, err := os.OpenFile(e.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "    delete: %s\nsettle: 500ms\n", policy); err != nil {
		e.t.Fatal(err)
	}
}

// popLeft returns alice's maildrop as it is now, CRLF.
func (e *e2e) popLeft() [][]byte {
	var left [][]byte
	for _, m := range e.dc.Fetch(e.t, "alice", "INBOX") {
		left = append(left, crlf(m.Body))
	}
	return left
}

// deletedAreInTarget checks the invariant of POP3 deletion: every seeded
// message that left the maildrop is in the target, and the target holds
// nothing twice.
func (e *e2e) deletedAreInTarget(seeded [][]byte) (deleted int) {
	e.t.Helper()
	left, inTarget := map[string]int{}, map[string]int{}
	for _, m := range e.popLeft() {
		left[string(m)]++
	}
	for _, m := range e.target() {
		if inTarget[string(m)]++; inTarget[string(m)] > 1 {
			e.t.Fatalf("the target holds a message twice: %.80q", m)
		}
	}
	for _, m := range seeded {
		m = crlf(m)
		if left[string(m)] > 0 {
			left[string(m)]--
			continue
		}
		deleted++
		if inTarget[string(m)] == 0 {
			e.t.Fatalf("a message deleted from the POP3 server is not in the target: %.80q", m)
		}
	}
	return deleted
}

func deleteSeed(prefix string, n int) [][]byte {
	var seed [][]byte
	for i := range n {
		id := fmt.Sprintf("%s%04d@example.org", prefix, i)
		if i%13 == 0 {
			id = "" // keyed by content
		}
		seed = append(seed, mail(id, fmt.Sprintf("%s %d", prefix, i), strings.Repeat(fmt.Sprintf("%s line %d\r\n", prefix, i), 5+i%50)))
	}
	return seed
}

// TestDovecotDeleteAfterUpload: a dry run deletes nothing; a run deletes
// every copied message from the POP3 server; a re-run has nothing to do.
func TestDovecotDeleteAfterUpload(t *testing.T) {
	seed := deleteSeed("del", 60)
	e := newE2E(t, seed)
	e.withDelete("after-upload")
	if code, out := e.run(nil, "--dry-run"); code != exitOK {
		t.Fatalf("dry run exit %d:\n%s", code, out)
	}
	if left := e.popLeft(); len(left) != len(seed) {
		t.Fatalf("a dry run left %d of %d messages on the POP3 server", len(left), len(seed))
	}
	code, out := e.run(nil)
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("deleted:         %d from the POP3 server", len(seed))) {
		t.Fatalf("exit %d, want 0 and %d deleted:\n%s", code, len(seed), out)
	}
	if left := e.popLeft(); len(left) != 0 {
		t.Fatalf("the POP3 server still holds %d messages", len(left))
	}
	wantEachOnce(t, e.target(), seed)
	if code, out := e.run(nil); code != exitOK || !strings.Contains(out, "copied:          0") {
		t.Fatalf("re-run exit %d, want 0 and nothing copied:\n%s", code, out)
	}
	wantEachOnce(t, e.target(), seed)
}

// TestDovecotKilledWhileDeleting kills mailferry with SIGKILL at random
// moments of its delete phase (about 60 ms for 300 messages here: list,
// confirm against the target, DELE, QUIT), over several rounds of new mail: whatever
// the moment, every message gone from the POP3 server is in the target,
// none is copied twice, and a last run leaves the maildrop empty.
func TestDovecotKilledWhileDeleting(t *testing.T) {
	rounds, kills := 4, 15
	if testing.Short() {
		rounds, kills = 2, 6
	}
	var all [][]byte
	seed := deleteSeed("r0-", 300)
	all = append(all, seed...)
	e := newE2E(t, seed)
	e.withDelete("after-upload")
	rng := rand.New(rand.NewPCG(5, 6))
	landed, round := 0, 0
	for k := 0; k < kills; k++ {
		cmd, out := e.start(nil)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if !waitFor(out, "msg=\"deleting copied messages", exited, 60*time.Second) {
			<-exited
			t.Fatalf("kill %d: the run never reached its delete phase (exit %d):\n%s", k, cmd.ProcessState.ExitCode(), out)
		}
		wait := time.Duration(rng.IntN(90000)) * time.Microsecond
		if k%3 == 2 {
			wait = time.Minute // let this run finish: the next kills get new mail
		}
		select {
		case <-exited:
		case <-time.After(wait):
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			if cmd.ProcessState.ExitCode() == -1 {
				landed++
			}
		}
		e.deletedAreInTarget(all)
		if len(e.popLeft()) == 0 && round < rounds {
			// Everything went: new mail arrives for the next kills.
			round++
			more := deleteSeed(fmt.Sprintf("r%d-", round), 200)
			e.dc.Seed(t, "alice", "INBOX", more)
			all = append(all, more...)
		}
	}
	if landed == 0 || round == 0 {
		t.Fatalf("%d kills landed in a delete phase, %d delete phases finished: want both > 0", landed, round)
	}
	if code, out := e.run(nil); code != exitOK {
		t.Fatalf("final run exit %d:\n%s", code, out)
	}
	if left := e.popLeft(); len(left) != 0 {
		t.Fatalf("the POP3 server still holds %d messages after the final run", len(left))
	}
	wantEachOnce(t, e.target(), all)
	t.Logf("%d of %d kills landed in a delete phase, %d rounds of new mail", landed, kills, round)
}
