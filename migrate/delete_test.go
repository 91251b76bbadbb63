package migrate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	imapv2 "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/migrate"
)

// deletedAreInTarget checks the invariant of POP3 deletion: every message
// that left the POP3 maildrop is in the target.
func deletedAreInTarget(t *testing.T, r *rig, seeded [][]byte) {
	t.Helper()
	left, inbox := map[string]int{}, map[string]bool{}
	for _, m := range r.pop.Messages("u") {
		left[string(m)]++
	}
	for _, m := range r.inbox() {
		inbox[string(m)] = true
	}
	for _, m := range seeded {
		if left[string(m)] > 0 {
			left[string(m)]--
			continue
		}
		if !inbox[string(m)] {
			t.Fatalf("a message deleted from the POP3 server is not in the target: %.80q", m)
		}
	}
}

func TestDeleteAfterUpload(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.delete = &migrate.DeletePolicy{}
	rep := r.run()
	if rep.Copied != len(msgs) || rep.Deleted != len(msgs) {
		t.Fatalf("copied %d, deleted %d; want %d and %d", rep.Copied, rep.Deleted, len(msgs), len(msgs))
	}
	if left := r.pop.Messages("u"); len(left) != 0 {
		t.Fatalf("the maildrop still holds %d messages, want none", len(left))
	}
	wantOnce(t, r.inbox(), msgs)
	deletedAreInTarget(t, r, msgs)

	// New mail arrives: the next run copies and deletes it alone.
	more := msg("new@x", "arrived later")
	r.pop.SetMessages("u", [][]byte{more})
	rep = r.run()
	if rep.Copied != 1 || rep.Deleted != 1 {
		t.Fatalf("second run: copied %d, deleted %d; want 1 and 1", rep.Copied, rep.Deleted)
	}
	wantOnce(t, r.inbox(), append(msgs, more))
}

// A message the target refused stays in the maildrop; the others go.
func TestDeleteNeverAFailedMessage(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.delete = &migrate.DeletePolicy{}
	big := int64(len(msgs[2]))
	r.imap.SetAppendHook(func(_ string, size int64) error {
		if size == big {
			return noWith(imapv2.ResponseCodeLimit, "message too large")
		}
		return nil
	})
	rep := r.run()
	if rep.Failed() != 1 || rep.Deleted != len(msgs)-1 {
		t.Fatalf("failed %d, deleted %d; want 1 and %d", rep.Failed(), rep.Deleted, len(msgs)-1)
	}
	if left := r.pop.Messages("u"); len(left) != 1 || string(left[0]) != string(msgs[2]) {
		t.Fatalf("the maildrop holds %d messages, want only the refused one", len(left))
	}
	deletedAreInTarget(t, r, msgs)
}

// A run that stops on an error, a dry run and an over-quota target
// delete nothing.
func TestDeleteNothingWhenTheRunDidNotFinish(t *testing.T) {
	t.Run("over quota", func(t *testing.T) {
		msgs := tricky()
		r := newRig(t, msgs)
		r.delete = &migrate.DeletePolicy{}
		r.imap.SetAppendHook(func(_ string, size int64) error {
			if size == int64(len(msgs[3])) {
				return noWith(imapv2.ResponseCodeOverQuota, "quota exceeded")
			}
			return nil
		})
		rep, err := r.runErr(context.Background())
		if migrate.ClassOf(err) != migrate.ClassConnect || rep.Deleted != 0 {
			t.Fatalf("Run() = %v, deleted %d; want a connect-class error and nothing deleted", err, rep.Deleted)
		}
		if left := r.pop.Messages("u"); len(left) != len(msgs) {
			t.Fatalf("the maildrop holds %d messages, want all %d", len(left), len(msgs))
		}
	})
	t.Run("dry run", func(t *testing.T) {
		msgs := tricky()
		r := newRig(t, msgs)
		r.run() // copied for real, not deleted: no policy yet
		r.delete = &migrate.DeletePolicy{}
		r.opts.DryRun = true
		if rep := r.run(); rep.Deleted != 0 {
			t.Fatalf("dry run deleted %d", rep.Deleted)
		}
		if left := r.pop.Messages("u"); len(left) != len(msgs) {
			t.Fatalf("the maildrop holds %d messages after a dry run, want all %d", len(left), len(msgs))
		}
		if n := r.pop.Count("DELE"); n != 0 {
			t.Fatalf("a dry run sent %d DELE", n)
		}
	})
}

// keep-days: a message goes once its copy is that old, not before.
func TestDeleteKeepDays(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	now := time.Now()
	r.opts.Now = func() time.Time { return now }
	r.delete = &migrate.DeletePolicy{KeepFor: 3 * 24 * time.Hour}
	rep := r.run()
	if rep.Copied != len(msgs) || rep.Deleted != 0 || rep.DeleteKept != len(msgs) {
		t.Fatalf("day 0: copied %d deleted %d kept %d; want %d, 0, %d", rep.Copied, rep.Deleted, rep.DeleteKept, len(msgs), len(msgs))
	}
	now = now.Add(2 * 24 * time.Hour)
	if rep := r.run(); rep.Deleted != 0 || rep.DeleteKept != len(msgs) {
		t.Fatalf("day 2: deleted %d kept %d; want 0 and %d", rep.Deleted, rep.DeleteKept, len(msgs))
	}
	now = now.Add(24*time.Hour + time.Minute)
	if rep := r.run(); rep.Deleted != len(msgs) || rep.Copied != 0 {
		t.Fatalf("day 3: deleted %d copied %d; want %d and 0", rep.Deleted, rep.Copied, len(msgs))
	}
	if left := r.pop.Messages("u"); len(left) != 0 {
		t.Fatalf("the maildrop holds %d messages on day 3, want none", len(left))
	}
	deletedAreInTarget(t, r, msgs)
}

// A copy that is no longer in the target (the user deleted it there) is
// not confirmed: its source message stays.
func TestDeleteOnlyWhatTheTargetHolds(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.run()
	// Remove two copies from the target behind mailferry's back: one with
	// a Message-ID, one keyed by content.
	c, err := imapclient.DialInsecure(r.imap.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", "imap-secret").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var gone []imapv2.UID
	for _, m := range fetchAll(t, c) {
		if strings.Contains(string(m.body), "plain") || strings.Contains(string(m.body), "no message id") {
			gone = append(gone, m.uid)
		}
	}
	if len(gone) != 2 {
		t.Fatalf("found %d of the two messages to remove", len(gone))
	}
	if err := c.Store(imapv2.UIDSetNum(gone...), &imapv2.StoreFlags{Op: imapv2.StoreFlagsAdd,
		Flags: []imapv2.Flag{imapv2.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	r.delete = &migrate.DeletePolicy{}
	rep := r.run()
	if rep.Deleted != len(msgs)-2 || rep.DeleteUnconfirmed != 2 {
		t.Fatalf("deleted %d unconfirmed %d; want %d and 2", rep.Deleted, rep.DeleteUnconfirmed, len(msgs)-2)
	}
	left := r.pop.Messages("u")
	if len(left) != 2 {
		t.Fatalf("the maildrop holds %d messages, want the 2 missing from the target", len(left))
	}
	deletedAreInTarget(t, r, msgs)
}

type fetched struct {
	uid  imapv2.UID
	body []byte
}

func fetchAll(t *testing.T, c *imapclient.Client) []fetched {
	t.Helper()
	bs := &imapv2.FetchItemBodySection{Peek: true}
	var all imapv2.SeqSet
	all.AddRange(1, 0) // 1:*
	msgs, err := c.Fetch(all, &imapv2.FetchOptions{UID: true, BodySection: []*imapv2.FetchItemBodySection{bs}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []fetched
	for _, m := range msgs {
		out = append(out, fetched{uid: m.UID, body: m.FindBodySection(bs)})
	}
	return out
}

// A connection cut before QUIT's answer leaves the maildrop whole (POP3
// rolls back); the run says so, and the next run deletes without copying
// again.
func TestDeleteCutBeforeQuit(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.delete = &migrate.DeletePolicy{}
	r.opts.Backoff, r.opts.MaxBackoff, r.opts.Reconnects = time.Millisecond, 2*time.Millisecond, 2
	r.popFault(func(cmd, _ string) (string, bool) {
		return "", cmd == "QUIT" && r.pop.Count("DELE") > 0
	})
	rep, err := r.runErr(context.Background())
	if err == nil || rep.Deleted != 0 || rep.Copied != len(msgs) {
		t.Fatalf("Run() = %v, copied %d deleted %d; want an error, all copied, none deleted", err, rep.Copied, rep.Deleted)
	}
	if left := r.pop.Messages("u"); len(left) != len(msgs) {
		t.Fatalf("the maildrop holds %d messages after the cut, want all %d", len(left), len(msgs))
	}
	r.popFault(nil)
	rep = r.run()
	if rep.Copied != 0 || rep.Deleted != len(msgs) {
		t.Fatalf("next run: copied %d deleted %d; want 0 and %d", rep.Copied, rep.Deleted, len(msgs))
	}
	wantOnce(t, r.inbox(), msgs)
	deletedAreInTarget(t, r, msgs)
}

// A duplicate (the same Message-ID and body, delivered twice) is deleted
// too: the target holds that message, found by Message-ID and body hash.
func TestDeleteDuplicates(t *testing.T) {
	first := msg("dup@x", "delivered twice")
	again := append([]byte("Received: from relay by mx; Tue, 3 Mar 2026 10:00:00 +0000\r\n"), first...)
	r := newRig(t, [][]byte{first, again})
	r.delete = &migrate.DeletePolicy{}
	rep := r.run()
	if rep.Copied != 1 || rep.Duplicates != 1 || rep.Deleted != 2 {
		t.Fatalf("copied %d duplicates %d deleted %d; want 1, 1, 2", rep.Copied, rep.Duplicates, rep.Deleted)
	}
	wantOnce(t, r.inbox(), [][]byte{first})
	if left := r.pop.Messages("u"); len(left) != 0 {
		t.Fatalf("the maildrop holds %d messages, want none", len(left))
	}
}
