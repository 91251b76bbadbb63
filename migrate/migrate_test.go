package migrate_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/source/pop3/pop3test"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

// rig is a POP3 test server, an IMAP test server and a state path.
type rig struct {
	t     *testing.T
	pop   *pop3test.Server
	imap  *imaptest.Server
	state string
	// wrap, when set, decorates the target of each run (fault injection).
	wrap func(target.Target) target.Target
	// source, when set, decorates the POP3 source of each run.
	source func(source.Source) source.Source
	// fault, when set, answers POP3 commands instead of the server.
	fault atomic.Pointer[func(cmd, arg string) (string, bool)]
	opts  migrate.Options
	// delete is the POP3 source's delete policy (nil: leave).
	delete *migrate.DeletePolicy
	// filter is the POP3 source's filter.
	filter migrate.Filter
	// event, when set, is told of each event of a run.
	event func(migrate.Event)
	// folder is the POP3 source's target folder ("": INBOX).
	folder string
}

func newRig(t *testing.T, msgs [][]byte) *rig {
	t.Helper()
	r := &rig{t: t}
	r.pop = pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"u": "pop-secret"},
		Messages: map[string][][]byte{"u": msgs},
		Fault: func(cmd, arg string) (string, bool) {
			if f := r.fault.Load(); f != nil {
				return (*f)(cmd, arg)
			}
			return "", false
		}})
	r.imap = imaptest.NewServer(t, "u", "imap-secret")
	r.state = filepath.Join(t.TempDir(), "state.db")
	// In-process servers store an APPEND before answering it.
	r.opts = migrate.Options{Settle: time.Millisecond}
	return r
}

// popFault makes the POP3 server answer through f (nil: normally).
func (r *rig) popFault(f func(cmd, arg string) (string, bool)) {
	if f == nil {
		r.fault.Store(nil)
		return
	}
	r.fault.Store(&f)
}

func (r *rig) run() *migrate.Report {
	r.t.Helper()
	rep, err := r.runErr(context.Background())
	if err != nil {
		r.t.Fatalf("Run() = %v", err)
	}
	return rep
}

func (r *rig) runErr(ctx context.Context) (*migrate.Report, error) {
	st, err := state.Open(r.state, state.Options{})
	if err != nil {
		r.t.Fatalf("state.Open: %v", err)
	}
	defer st.Close()
	tgt, err := imap.New(ctx, imap.Options{Addr: r.imap.Addr, TLS: imap.TLSNone, Username: "u",
		Password: "imap-secret", Connections: 4})
	if err != nil {
		r.t.Fatalf("imap.New: %v", err)
	}
	defer tgt.Close()
	var t target.Target = tgt
	if r.wrap != nil {
		t = r.wrap(tgt)
	}
	popOpts := pop3.Options{Addr: r.pop.Addr, TLS: pop3.TLSNone, Username: "u", Password: "pop-secret"}
	m := &migrate.Migrator{Target: t, State: st, Options: r.opts, Event: r.event, Sources: []migrate.SourceSpec{{
		Name: "pop3://u@test", Folder: cmp.Or(r.folder, "INBOX"), Delete: r.delete, Filter: r.filter,
		Open: func(ctx context.Context) (source.Source, error) {
			s, err := pop3.Dial(ctx, popOpts)
			switch {
			case err != nil:
				return nil, err
			case r.source == nil:
				return s, nil
			}
			return r.source(s), nil
		},
	}}}
	return m.Run(ctx)
}

func (r *rig) inbox() [][]byte {
	r.t.Helper()
	got, err := r.imap.Messages("INBOX")
	if err != nil {
		r.t.Fatalf("read INBOX: %v", err)
	}
	return got
}

func msg(id, body string) []byte {
	h := "From: a@example.org\r\nSubject: test\r\n"
	if id != "" {
		h += "Message-ID: <" + id + ">\r\n"
	}
	return []byte(h + "\r\n" + body + "\r\n")
}

// wantOnce checks that the target holds exactly want, each once, in any order.
func wantOnce(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("target holds %d messages, want %d", len(got), len(want))
	}
	left := map[string]int{}
	for _, w := range want {
		left[string(w)]++
	}
	for i, g := range got {
		if left[string(g)] == 0 {
			t.Fatalf("target message %d (%.60q) is not one of the wanted messages, or is there twice", i, g)
		}
		left[string(g)]--
	}
}

func tricky() [][]byte {
	return [][]byte{
		msg("a@x", "plain"),
		msg("b@x", ".leading dot\r\n..two dots\r\n."),
		msg("c@x", strings.Repeat("L", 10000)),
		msg("", "no message id"),
		[]byte("Subject: caf\xc3\xa9 \xe9t\xe9\r\nMessage-ID: <d@x>\r\n\r\n8-bit \x00 body\nbare LF\r\n"),
	}
}

func TestCopiesByteExactThenNothing(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	rep := r.run()
	if rep.Copied != len(msgs) || rep.Failed() != 0 || rep.Listed != len(msgs) {
		t.Fatalf("first run: copied %d failed %d listed %d, want %d/0/%d", rep.Copied, rep.Failed(), rep.Listed, len(msgs), len(msgs))
	}
	wantOnce(t, r.inbox(), msgs)

	retrs := r.pop.Count("RETR")
	rep = r.run()
	if rep.Copied != 0 || rep.Known != len(msgs) {
		t.Fatalf("second run: copied %d known %d, want 0 and %d", rep.Copied, rep.Known, len(msgs))
	}
	if n := r.pop.Count("RETR") - retrs; n != 0 {
		t.Fatalf("second run sent %d RETR, want 0", n)
	}
	wantOnce(t, r.inbox(), msgs)
}

func TestDedupByMessageIDAndBody(t *testing.T) {
	orig := msg("same@x", "the body")
	redelivered := append([]byte("Received: from relay; Tue, 3 Mar 2026 10:00:00 +0000\r\n"), orig...)
	reused := msg("same@x", "another body entirely")
	noID := msg("", "twice without id")
	msgs := [][]byte{orig, redelivered, reused, noID, noID}
	r := newRig(t, msgs)
	rep := r.run()
	if rep.Copied != 3 || rep.Duplicates != 2 {
		t.Fatalf("copied %d duplicates %d, want 3 and 2", rep.Copied, rep.Duplicates)
	}
	wantOnce(t, r.inbox(), [][]byte{orig, reused, noID})
}

func TestDedupOffCopiesEveryMessage(t *testing.T) {
	m := msg("same@x", "body")
	r := newRig(t, [][]byte{m, m})
	r.opts.Dedup = migrate.DedupOff
	if rep := r.run(); rep.Copied != 2 {
		t.Fatalf("copied %d, want 2 with dedup off", rep.Copied)
	}
	if rep := r.run(); rep.Copied != 0 {
		t.Fatalf("re-run copied %d, want 0", rep.Copied)
	}
}

func TestLostStateDuplicatesNothing(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.run()
	r.state = filepath.Join(r.t.TempDir(), "new-state.db")
	rep := r.run()
	if rep.Copied != 0 || rep.Present != len(msgs) {
		t.Fatalf("with a new state: copied %d present %d, want 0 and %d", rep.Copied, rep.Present, len(msgs))
	}
	wantOnce(t, r.inbox(), msgs)
}

func TestPreexistingReusedIDIsCopied(t *testing.T) {
	// The target already holds a different message with the same ID:
	// the body comparison keeps the source message.
	r := newRig(t, [][]byte{msg("id@x", "source body")})
	r.pop.SetMessages("u", [][]byte{msg("id@x", "server body")})
	r.run()
	r.state = filepath.Join(r.t.TempDir(), "new-state.db")
	r.pop.SetMessages("u", [][]byte{msg("id@x", "source body")})
	rep := r.run()
	if rep.Copied != 1 || rep.Present != 0 {
		t.Fatalf("copied %d present %d, want 1 and 0", rep.Copied, rep.Present)
	}
	wantOnce(t, r.inbox(), [][]byte{msg("id@x", "server body"), msg("id@x", "source body")})
}

// flaky stores a message and then reports a transient error for it, as a
// connection cut after the server's OK would.
type flaky struct {
	target.Target
	n, failAt atomic.Int32
}

func (f *flaky) Append(ctx context.Context, folder string, m target.Message) (uint32, error) {
	uid, err := f.Target.Append(ctx, folder, m)
	if f.n.Add(1) == f.failAt.Load() && err == nil {
		return 0, target.Temporary(fmt.Errorf("injected: connection reset after APPEND stored UID %d", uid))
	}
	return uid, err
}

func TestTransientAfterStoreMakesNoDuplicate(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.opts.Backoff = 1
	f := &flaky{}
	f.failAt.Store(2)
	r.wrap = func(t target.Target) target.Target { f.Target = t; return f }
	rep := r.run()
	if rep.Copied != len(msgs) || rep.Failed() != 0 {
		t.Fatalf("copied %d failed %d, want %d and 0", rep.Copied, rep.Failed(), len(msgs))
	}
	wantOnce(t, r.inbox(), msgs)
}

// rejecting refuses messages whose bytes contain a marker.
type rejecting struct{ target.Target }

func (r rejecting) Append(ctx context.Context, folder string, m target.Message) (uint32, error) {
	b := make([]byte, m.Size)
	m.Body.ReadAt(b, 0)
	if bytes.Contains(b, []byte("REJECT-ME")) {
		return 0, fmt.Errorf("injected NO [TOOBIG]: %w", target.ErrRejected)
	}
	return r.Target.Append(ctx, folder, m)
}

func TestRejectedMessageFailsAloneAndIsRetriedNextRun(t *testing.T) {
	bad := msg("bad@x", "REJECT-ME")
	msgs := append(tricky(), bad)
	r := newRig(t, msgs)
	r.wrap = func(t target.Target) target.Target { return rejecting{t} }
	rep := r.run()
	if rep.Copied != len(msgs)-1 || rep.Failed() != 1 || !strings.Contains(rep.Failures[0].Reason, "TOOBIG") {
		t.Fatalf("copied %d failures %+v, want %d copied and one TOOBIG failure", rep.Copied, rep.Failures, len(msgs)-1)
	}
	r.wrap = nil
	rep = r.run()
	if rep.Copied != 1 || rep.Failed() != 0 {
		t.Fatalf("re-run copied %d failed %d, want the failed message copied", rep.Copied, rep.Failed())
	}
	wantOnce(t, r.inbox(), msgs)
}

func TestPendingRecordsAreResolved(t *testing.T) {
	stored, lost := msg("stored@x", "in the target already"), msg("lost@x", "never arrived")
	r := newRig(t, [][]byte{stored, lost})
	// What a run killed between APPEND and commit leaves: two pending
	// records, one of which reached the target.
	r.run()
	if _, err := r.imap.Messages("INBOX"); err != nil {
		t.Fatal(err)
	}
	r.state = filepath.Join(r.t.TempDir(), "killed.db")
	st, err := state.Open(r.state, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, m := range [][]byte{stored, lost} {
		id := identityOf(m)
		k := state.KeyRecord{Key: id.Key, BodyHash: id.BodyHash, Folder: "INBOX", Pending: true,
			Size: int64(len(m)), Source: "pop3://u@test", RefID: pop3test.UIDL(m, i+1)}
		if err := st.Begin(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	// Only "stored" is in the target.
	r.imap = imaptest.NewServer(t, "u", "imap-secret")
	r.pop.SetMessages("u", [][]byte{stored})
	seedTarget(t, r, stored)
	r.pop.SetMessages("u", [][]byte{stored, lost})
	rep := r.run()
	if rep.Recovered != 1 || rep.Copied != 1 {
		t.Fatalf("recovered %d copied %d, want 1 and 1", rep.Recovered, rep.Copied)
	}
	wantOnce(t, r.inbox(), [][]byte{stored, lost})
}

func TestDryRunWritesNothing(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.opts.DryRun = true
	rep := r.run()
	if rep.Copied != len(msgs) || !rep.DryRun {
		t.Fatalf("dry run would copy %d, want %d", rep.Copied, len(msgs))
	}
	if got := r.inbox(); len(got) != 0 {
		t.Fatalf("dry run wrote %d messages to the target", len(got))
	}
	r.opts.DryRun = false
	if rep := r.run(); rep.Copied != len(msgs) {
		t.Fatalf("real run after dry run copied %d, want %d", rep.Copied, len(msgs))
	}
}

func TestLargeMessagesAreSpooled(t *testing.T) {
	big := msg("big@x", strings.Repeat("0123456789abcdef", 1<<16)) // 1 MiB line
	msgs := [][]byte{big, msg("small@x", "small")}
	r := newRig(t, msgs)
	r.opts.SpoolThreshold = 64 << 10
	r.opts.SpoolDir = t.TempDir()
	rep := r.run()
	if rep.Copied != 2 {
		t.Fatalf("copied %d, want 2", rep.Copied)
	}
	wantOnce(t, r.inbox(), msgs)
	if left, _ := filepath.Glob(filepath.Join(r.opts.SpoolDir, "*")); len(left) != 0 {
		t.Fatalf("spool files left behind: %v", left)
	}
}

func TestWrongTargetPasswordIsConnectClass(t *testing.T) {
	err := migrate.ClassOf(fmt.Errorf("login: %w", target.ErrAuth))
	if err != migrate.ClassConnect {
		t.Fatalf("ClassOf(ErrAuth) = %v, want ClassConnect", err)
	}
}

// noKeywords refuses any APPEND that carries a keyword, as a server with no
// room for more keywords in the folder does.
type noKeywords struct{ target.Target }

func (n noKeywords) Append(ctx context.Context, folder string, m target.Message) (uint32, error) {
	for _, f := range m.Flags {
		if !strings.HasPrefix(f, `\`) {
			return 0, fmt.Errorf("injected NO: keyword %s: %w", f, target.ErrRejected)
		}
	}
	return n.Target.Append(ctx, folder, m)
}

// keywordSource gives every message a keyword and \Seen.
type keywordSource struct{ source.Source }

func (k keywordSource) List(ctx context.Context, fn func(source.Ref) error) error {
	return k.Source.List(ctx, func(r source.Ref) error {
		r.Flags = []string{`\Seen`, "$label1"}
		return fn(r)
	})
}

func TestRefusedKeywordsAreDropped(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.wrap = func(t target.Target) target.Target { return noKeywords{t} }
	r.source = func(s source.Source) source.Source { return keywordSource{s} }
	rep := r.run()
	if rep.Copied != len(msgs) || rep.Failed() != 0 {
		t.Fatalf("copied %d failed %d, want all copied without their keywords", rep.Copied, rep.Failed())
	}
	got, err := r.imap.Fetch("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if !slices.Contains(m.Flags, `\Seen`) || slices.Contains(m.Flags, "$label1") {
			t.Fatalf("stored flags %v, want \\Seen kept and $label1 dropped", m.Flags)
		}
	}
}
