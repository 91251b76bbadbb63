package migrate_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/migrate"
)

// kinds collects the events of each kind of a run, by message body.
type kinds map[migrate.EventKind][]migrate.Event

func (k kinds) record(e migrate.Event) { k[e.Kind] = append(k[e.Kind], e) }

// A message that the target lost after a run is copied again by
// Options.Recheck, and only it: a plain run trusts the state and copies
// nothing; a second recheck copies nothing either.
func TestRecheckRestoresOnlyTheMissing(t *testing.T) {
	msgs := append(tricky(), msg("dup@x", "the same twice"), msg("dup@x", "the same twice"))
	unique := msgs[:len(msgs)-1]
	r := newRig(t, msgs)
	rep := r.run()
	if rep.Copied != len(unique) || rep.Duplicates != 1 {
		t.Fatalf("first run: copied %d duplicates %d, want %d and 1", rep.Copied, rep.Duplicates, len(unique))
	}
	// A user deletes two messages in their mail client: one without a
	// Message-ID, and the one two source messages share.
	expunge(t, r.imap, "imap-secret", "INBOX", []byte("no message id"))
	expunge(t, r.imap, "imap-secret", "INBOX", []byte("the same twice"))
	if got := len(r.inbox()); got != len(unique)-2 {
		t.Fatalf("after expunge the target holds %d, want %d", got, len(unique)-2)
	}

	rep = r.run()
	if rep.Copied != 0 || rep.Restored != 0 || rep.Known != len(msgs) {
		t.Fatalf("plain run: copied %d restored %d known %d, want 0/0/%d", rep.Copied, rep.Restored, rep.Known, len(msgs))
	}

	r.opts.Recheck = true
	ev := kinds{}
	r.event = ev.record
	rep = r.run()
	if rep.Restored != 2 || rep.Copied != 0 || rep.Present != 0 || rep.Duplicates != 1 || rep.Failed() != 0 {
		t.Fatalf("recheck: restored %d copied %d present %d duplicates %d failed %d, want 2/0/0/1/0",
			rep.Restored, rep.Copied, rep.Present, rep.Duplicates, rep.Failed())
	}
	if rep.Known != len(msgs)-3 {
		t.Fatalf("recheck: known %d, want %d (the messages the target still holds)", rep.Known, len(msgs)-3)
	}
	var restored []string
	for _, e := range ev[migrate.EventRestored] {
		if e.UID == 0 || e.Folder != "INBOX" {
			t.Errorf("restored event %+v: want a UID in INBOX", e)
		}
		restored = append(restored, e.MessageID)
	}
	slices.Sort(restored)
	if !slices.Equal(restored, []string{"", "dup@x"}) {
		t.Fatalf("restored Message-IDs %q, want the two expunged", restored)
	}
	wantOnce(t, r.inbox(), unique)

	ev = kinds{}
	r.event = ev.record
	rep = r.run()
	// Present 0: the records name the restored copies' new UIDs, so no
	// message is read again to be looked for.
	if rep.Restored != 0 || rep.Copied != 0 || rep.Present != 0 || rep.Known != len(msgs) {
		t.Fatalf("second recheck: restored %d copied %d present %d known %d, want 0/0/0/%d",
			rep.Restored, rep.Copied, rep.Present, rep.Known, len(msgs))
	}
	wantOnce(t, r.inbox(), unique)
}

// A copy that is in the target under another UID than recorded (put back
// by hand, or by a restore of the server) is found, not copied again,
// and its records take the new UID.
func TestRecheckFindsCopyUnderNewUID(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.run()
	expunge(t, r.imap, "imap-secret", "INBOX", []byte("plain"))
	seedTarget(t, r, msgs[0])

	r.opts.Recheck = true
	ev := kinds{}
	r.event = ev.record
	rep := r.run()
	if rep.Restored != 0 || rep.Copied != 0 || rep.Present != 1 {
		t.Fatalf("recheck: restored %d copied %d present %d, want 0/0/1", rep.Restored, rep.Copied, rep.Present)
	}
	if p := ev[migrate.EventPresent]; len(p) != 1 || p[0].MessageID != "a@x" || p[0].UID == 0 {
		t.Fatalf("present events %+v, want a@x with its UID", p)
	}
	wantOnce(t, r.inbox(), msgs)
	rep = r.run()
	if rep.Present != 0 || rep.Known != len(msgs) {
		t.Fatalf("second recheck: present %d known %d, want 0 and %d", rep.Present, rep.Known, len(msgs))
	}
}

// datedMsg is a message with a Date header.
func datedMsg(id, date, body string) []byte {
	return []byte("From: a@example.org\r\nDate: " + date + "\r\nMessage-ID: <" + id + ">\r\n\r\n" + body + "\r\n")
}

// The filters leave out what they do not take, count it, record nothing
// of it: a later run without them copies those messages.
func TestFiltersSkipCountAndLeaveForLater(t *testing.T) {
	old := datedMsg("old@x", "Mon, 06 Jan 2020 10:00:00 +0000", "old")
	mid := datedMsg("mid@x", "Mon, 06 Jan 2023 10:00:00 +0000", "mid")
	newer := datedMsg("new@x", "Sat, 06 Jan 2024 10:00:00 +0000", "new")
	big := datedMsg("big@x", "Mon, 06 Jan 2023 10:00:00 +0000", strings.Repeat("B", 5000))
	msgs := [][]byte{old, mid, newer, big}
	r := newRig(t, msgs)
	r.filter = migrate.Filter{Since: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC),
		Before: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), MaxSize: 1000}
	ev := kinds{}
	r.event = ev.record
	retrs := r.pop.Count("RETR")
	rep := r.run()
	if rep.Copied != 1 || rep.Filtered != 3 || rep.Listed != len(msgs) {
		t.Fatalf("filtered run: copied %d filtered %d listed %d, want 1/3/%d", rep.Copied, rep.Filtered, rep.Listed, len(msgs))
	}
	wantOnce(t, r.inbox(), [][]byte{mid})
	// POP3 LIST gives exact sizes: the big one is left unread.
	if n := r.pop.Count("RETR") - retrs; n != 3 {
		t.Fatalf("sent %d RETR, want 3 (not the message too large)", n)
	}
	var why []string
	for _, e := range ev[migrate.EventFiltered] {
		why = append(why, e.Err.Error())
	}
	slices.Sort(why)
	for i, want := range []string{"larger than max_message_size", "before the since date", "not before the before date"} {
		found := false
		for _, w := range why {
			found = found || strings.Contains(w, want)
		}
		if !found {
			t.Errorf("no filtered event says %q (%d): %q", want, i, why)
		}
	}

	// The same filter again: the same three are left out again.
	rep = r.run()
	if rep.Copied != 0 || rep.Filtered != 3 || rep.Known != 1 {
		t.Fatalf("second filtered run: copied %d filtered %d known %d, want 0/3/1", rep.Copied, rep.Filtered, rep.Known)
	}
	r.filter = migrate.Filter{}
	rep = r.run()
	if rep.Copied != 3 || rep.Filtered != 0 || rep.Known != 1 {
		t.Fatalf("run without filter: copied %d filtered %d known %d, want 3/0/1", rep.Copied, rep.Filtered, rep.Known)
	}
	wantOnce(t, r.inbox(), msgs)
}

// With a bound on the bytes per second the messages arrive as they are.
func TestMaxBytesPerSecondCopiesExactly(t *testing.T) {
	msgs := append(tricky(), msg("big@x", strings.Repeat("x", 70000)))
	r := newRig(t, msgs)
	r.opts.MaxBytesPerSecond = 1 << 30
	r.opts.SpoolThreshold = 4096
	rep := r.run()
	if rep.Copied != len(msgs) {
		t.Fatalf("copied %d, want %d", rep.Copied, len(msgs))
	}
	wantOnce(t, r.inbox(), msgs)
}

// A whole folder lost on the target: recheck creates it again and
// restores its messages.
func TestRecheckRestoresDeletedFolder(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.folder = "Old/Mail"
	r.run()
	c, err := imapclient.DialInsecure(r.imap.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", "imap-secret").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Old/Mail").Wait(); err != nil {
		t.Fatal(err)
	}
	// Made anew by the user, with another message: its UIDs start again,
	// and UID 1 is not the message the state recorded as UID 1.
	if err := c.Create("Old/Mail", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	other := msg("other@x", "the user's own")
	ac := c.Append("Old/Mail", int64(len(other)), nil)
	if _, err := ac.Write(other); err != nil {
		t.Fatal(err)
	}
	if err := ac.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := ac.Wait(); err != nil || data.UID != 1 {
		t.Fatalf("the user's message: UID %v, %v; want UID 1", data, err)
	}
	r.opts.Recheck = true
	rep := r.run()
	if rep.Restored != len(msgs) || rep.Copied != 0 || rep.Failed() != 0 {
		t.Fatalf("recheck: restored %d copied %d failed %d, want %d/0/0", rep.Restored, rep.Copied, rep.Failed(), len(msgs))
	}
	got, err := r.imap.Messages("Old/Mail")
	if err != nil {
		t.Fatal(err)
	}
	wantOnce(t, got, append(msgs, other))
}

// With dedup: off every source message has its own copy: recheck
// restores each missing one, and a copy put back by hand stands for one
// source message only.
func TestRecheckDedupOff(t *testing.T) {
	same := msg("same@x", "twice in the maildrop")
	msgs := append(tricky(), same, same)
	r := newRig(t, msgs)
	r.opts.Dedup = migrate.DedupOff
	if rep := r.run(); rep.Copied != len(msgs) {
		t.Fatalf("first run copied %d, want %d", rep.Copied, len(msgs))
	}
	expunge(t, r.imap, "imap-secret", "INBOX", []byte("twice in the maildrop"))
	expunge(t, r.imap, "imap-secret", "INBOX", []byte("plain"))
	seedTarget(t, r, same)
	r.opts.Recheck = true
	rep := r.run()
	if rep.Restored != 2 || rep.Present != 1 || rep.Copied != 0 {
		t.Fatalf("recheck: restored %d present %d copied %d, want 2/1/0", rep.Restored, rep.Present, rep.Copied)
	}
	wantOnce(t, r.inbox(), msgs)
	if rep := r.run(); rep.Restored != 0 || rep.Present != 0 || rep.Known != len(msgs) {
		t.Fatalf("second recheck: restored %d present %d known %d, want 0/0/%d", rep.Restored, rep.Present, rep.Known, len(msgs))
	}
}
