package migrate_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

// byeOn makes the rig's IMAP server end the first n commands to which
// pick gives a fault (not imaptest.Answer) with a real untagged BYE, and
// returns a function that tells how many it ended.
func byeOn(r *rig, n int, pick func(cmd, mailbox string) imaptest.Fault) func() int {
	var mu sync.Mutex
	sent := 0
	r.imap.SetCommandHook(func(cmd, mailbox string) imaptest.Fault {
		f := pick(cmd, mailbox)
		mu.Lock()
		defer mu.Unlock()
		if f == imaptest.Answer || sent == n {
			return imaptest.Answer
		}
		sent++
		return f
	})
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return sent
	}
}

// only picks fault for one command.
func only(name string, fault imaptest.Fault) func(cmd, mailbox string) imaptest.Fault {
	return func(cmd, _ string) imaptest.Fault {
		if cmd == name {
			return fault
		}
		return imaptest.Answer
	}
}

// storedThenLookupFails ends the first APPEND with a BYE after storing its
// message, then the next three EXAMINEs (the lookup before the retry, and
// target/imap's own two retries of it) with a BYE: an engine that takes a
// failed lookup for "not there" appends the message twice.
func storedThenLookupFails() func(cmd, mailbox string) imaptest.Fault {
	var mu sync.Mutex
	stored := false
	return func(cmd, _ string) imaptest.Fault {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case cmd == "APPEND" && !stored:
			stored = true
			return imaptest.ByeAfter
		case cmd == "EXAMINE" && stored:
			return imaptest.ByeBefore
		}
		return imaptest.Answer
	}
}

// byeMail returns tricky() and n more messages; n < 0: one message.
func byeMail(n int) [][]byte {
	if n < 0 {
		return [][]byte{msg("alone@x", "the only message")}
	}
	msgs := tricky()
	for i := range n {
		msgs = append(msgs, msg(fmt.Sprintf("bye%03d@x", i), strings.Repeat(fmt.Sprintf("line %d\r\n", i), 5+i%40)))
	}
	return msgs
}

// TestByeMidCommand has the target server say BYE in the middle of the
// engine's APPENDs, EXAMINEs and FETCHes (a server restarting, an admin
// kicking sessions): the engine reconnects and every message lands once,
// none lost, none doubled, none failed. A BYE after an APPEND stored its
// message is the case that only the lookup before the retry gets right.
func TestByeMidCommand(t *testing.T) {
	for _, c := range []struct {
		name   string
		n      int
		pick   func(cmd, mailbox string) imaptest.Fault
		seeded int // messages put in the target first, so that it is read
		msgs   int // messages besides tricky(); -1: one message alone
	}{
		{"APPEND, BYE after storing", 4, only("APPEND", imaptest.ByeAfter), 0, 20},
		{"APPEND, BYE before storing", 4, only("APPEND", imaptest.ByeBefore), 0, 20},
		{"EXAMINE, BYE", 2, only("EXAMINE", imaptest.ByeBefore), 3, 20},
		{"EXAMINE, BYE after the answer", 2, only("EXAMINE", imaptest.ByeAfter), 3, 20},
		{"FETCH, BYE after the data", 2, only("FETCH", imaptest.ByeAfter), 3, 20},
		{"FETCH, BYE", 2, only("FETCH", imaptest.ByeBefore), 3, 20},
		// Three in a row outlast target/imap's own attempts: the engine
		// must go on trying. For the lookup, one message alone, so that
		// the BYEs all fall on its lookup (with more, the APPENDs that
		// the BYE cut look up too, and share them out).
		{"EXAMINE, BYE three times", 3, only("EXAMINE", imaptest.ByeBefore), 3, 20},
		{"APPEND, BYE after storing, then BYE on the lookup three times", 4, storedThenLookupFails(), 0, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			msgs := byeMail(c.msgs)
			r := newRig(t, msgs)
			r.opts.Backoff, r.opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
			seedTarget(t, r, msgs[:c.seeded]...)
			sent := byeOn(r, c.n, c.pick)
			rep, err := r.runErr(context.Background())
			r.imap.SetCommandHook(nil) // the checks below read through the server
			if err != nil {
				t.Fatalf("Run() = %v after %d BYEs", err, sent())
			}
			if sent() != c.n {
				t.Fatalf("the server said BYE %d times, want %d: the fault missed the engine's commands", sent(), c.n)
			}
			if rep.Copied+rep.Present != len(msgs) || rep.Present != c.seeded || rep.Failed() != 0 {
				t.Fatalf("copied %d present %d failed %d, want %d, %d, 0", rep.Copied, rep.Present, rep.Failed(),
					len(msgs)-c.seeded, c.seeded)
			}
			wantOnce(t, r.inbox(), msgs)
		})
	}
}

// TestByeAtRandom ends a random quarter of the target's commands, of every
// kind, with a BYE before or after running them, up to 30 BYEs in a run:
// the engine still copies every message once.
func TestByeAtRandom(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			msgs := byeMail(40)
			r := newRig(t, msgs)
			r.opts.Backoff, r.opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
			seedTarget(t, r, msgs[:5]...)
			var mu sync.Mutex
			rng := rand.New(rand.NewPCG(seed, 4))
			sent := byeOn(r, 30, func(string, string) imaptest.Fault {
				mu.Lock()
				defer mu.Unlock()
				if rng.IntN(4) != 0 {
					return imaptest.Answer
				}
				return imaptest.Fault(1 + rng.IntN(2))
			})
			rep, err := r.runErr(context.Background())
			r.imap.SetCommandHook(nil) // the checks below read through the server
			if err != nil {
				t.Fatalf("Run() = %v after %d BYEs", err, sent())
			}
			if rep.Failed() != 0 || rep.Copied+rep.Present != len(msgs) {
				t.Fatalf("copied %d present %d failed %d (%v), want all %d", rep.Copied, rep.Present, rep.Failed(), rep.Failures, len(msgs))
			}
			wantOnce(t, r.inbox(), msgs)
			t.Logf("%d BYEs", sent())
		})
	}
}

// TestByeWhileRecovering: a killed run left a pending record for a message
// the server stored; at the next start BYEs end the folder reads of the
// recovery. The engine retries them and finds the message: no second copy.
func TestByeWhileRecovering(t *testing.T) {
	msgs := byeMail(-1)
	r := newRig(t, msgs)
	r.opts.Backoff, r.opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
	// The "killed run": the message is in the target, its record pending.
	seedTarget(t, r, msgs[0])
	beginPending(t, r, msgs[0], "INBOX")
	sent := byeOn(r, 3, only("EXAMINE", imaptest.ByeBefore))
	rep := r.run()
	if sent() != 3 {
		t.Fatalf("%d BYEs sent, want 3", sent())
	}
	if rep.Recovered != 1 || rep.Copied != 0 || rep.Failed() != 0 {
		t.Fatalf("recovered %d copied %d failed %d; want 1, 0, 0", rep.Recovered, rep.Copied, rep.Failed())
	}
	wantOnce(t, r.inbox(), msgs)
}

// beginPending records m as pending in folder, as a run killed after
// sending its APPEND leaves it.
func beginPending(t *testing.T, r *rig, m []byte, folder string) {
	t.Helper()
	ctx := context.Background()
	src, err := pop3.Dial(ctx, pop3.Options{Addr: r.pop.Addr, TLS: pop3.TLSNone, Username: "u", Password: "pop-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var refID string
	err = src.List(ctx, func(ref source.Ref) error {
		rc, err := src.Open(ctx, ref)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if bytes.Equal(b, m) {
			refID = ref.ID
		}
		return err
	})
	if err != nil || refID == "" {
		t.Fatalf("message not in the maildrop (%v)", err)
	}
	st, err := state.Open(r.state, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := identityOf(m)
	if err := st.BeginAll(ctx, []state.KeyRecord{{Key: id.Key, BodyHash: id.BodyHash, Folder: folder,
		Pending: true, Size: int64(len(m)), Source: "pop3://u@test", RefID: refID, At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
}
