// What runs record in the state in corner cases: a dedup: off copy that
// is identical to another source message's, a source listing an ID
// twice, a folder never compared with the server, a message that cannot
// be read.

package migrate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target"
	"github.com/mailferry/mailferry/target/imap"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

type memMsg struct {
	id   string
	body []byte
}

type memSrc struct{ msgs []memMsg }

func (s *memSrc) List(ctx context.Context, fn func(source.Ref) error) error {
	for _, m := range s.msgs {
		if err := fn(source.Ref{ID: m.id, Size: int64(len(m.body))}); err != nil {
			return err
		}
	}
	return nil
}
func (s *memSrc) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	for _, m := range s.msgs {
		if m.id == ref.ID {
			return io.NopCloser(bytes.NewReader(m.body)), nil
		}
	}
	return nil, source.ErrNotFound
}
func (s *memSrc) Close() error { return nil }

func spec(name, folder string, src *memSrc) migrate.SourceSpec {
	return migrate.SourceSpec{Name: name, Folder: folder, Open: func(context.Context) (source.Source, error) { return src, nil }}
}

type failAppend struct{ target.Target }

func (f failAppend) Append(ctx context.Context, folder string, m target.Message) (uint32, error) {
	return 0, errors.New("boom: process dies here (fatal, nothing appended)")
}

func runOnce(t *testing.T, srv *imaptest.Server, statePath string, opts migrate.Options, wrap func(target.Target) target.Target, specs ...migrate.SourceSpec) (*migrate.Report, error) {
	t.Helper()
	st, err := state.Open(statePath, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tgt, err := imap.New(context.Background(), imap.Options{Addr: srv.Addr, TLS: imap.TLSNone, Username: "u", Password: "p", Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	var tt target.Target = tgt
	if wrap != nil {
		tt = wrap(tgt)
	}
	opts.Settle = time.Millisecond
	m := &migrate.Migrator{Target: tt, State: st, Sources: specs, Options: opts}
	return m.Run(context.Background())
}

// Dedup off: the second source's identical copy must not be "recovered" onto the first's.
func TestFoundDedupOffPendingOverwritesCommitted(t *testing.T) {
	srv := imaptest.NewServer(t, "u", "p")
	sp := filepath.Join(t.TempDir(), "s.db")
	m := msg("same@x", "body")
	s1 := &memSrc{[]memMsg{{"1", m}}}
	s2 := &memSrc{[]memMsg{{"1", m}}}
	o := migrate.Options{Dedup: migrate.DedupOff}
	if _, err := runOnce(t, srv, sp, o, nil, spec("s1", "INBOX", s1)); err != nil {
		t.Fatal(err)
	}
	_, err := runOnce(t, srv, sp, o, func(tt target.Target) target.Target { return failAppend{tt} }, spec("s1", "INBOX", s1), spec("s2", "INBOX", s2))
	t.Logf("run 2 (crash stand-in): %v", err)
	rep, err := runOnce(t, srv, sp, o, nil, spec("s1", "INBOX", s1), spec("s2", "INBOX", s2))
	t.Logf("run 3: err=%v recovered=%d copied=%d", err, rep.Recovered, rep.Copied)
	got, _ := srv.Messages("INBOX")
	if len(got) != 2 {
		t.Errorf("dedup off, two source messages: target holds %d copies, want 2 (s2's copy lost)", len(got))
	}
}

// A source listing one ID twice: with dedup off it is appended twice.
func TestFoundDuplicateRefIDListedTwice(t *testing.T) {
	srv := imaptest.NewServer(t, "u", "p")
	sp := filepath.Join(t.TempDir(), "s.db")
	m := msg("dup@x", "body")
	s1 := &memSrc{[]memMsg{{"1", m}, {"1", m}}}
	rep, err := runOnce(t, srv, sp, migrate.Options{Dedup: migrate.DedupOff}, nil, spec("s1", "INBOX", s1))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Messages("INBOX")
	t.Logf("copied=%d", rep.Copied)
	if len(got) != 1 {
		t.Errorf("one ref ID listed twice: target holds %d copies, want 1", len(got))
	}
}

// A folder this run never compared with the server is marked Indexed.
func TestFoundIndexedWithoutCompare(t *testing.T) {
	srv := imaptest.NewServer(t, "u", "p")
	sp := filepath.Join(t.TempDir(), "s.db")
	a := msg("a@x", "A")
	b := msg("b@x", "B")
	if err := srv.CreateFolder("Other"); err != nil {
		t.Fatal(err)
	}
	// B is already in the target folder Other (filed there by the user).
	tgt, err := imap.New(context.Background(), imap.Options{Addr: srv.Addr, TLS: imap.TLSNone, Username: "u", Password: "p", Connections: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tgt.Append(context.Background(), "Other", target.Message{Body: bytes.NewReader(b), Size: int64(len(b))}); err != nil {
		t.Fatal(err)
	}
	tgt.Close()
	in := &memSrc{[]memMsg{{"a", a}}}
	other := &memSrc{[]memMsg{{"a", a}}}
	if _, err := runOnce(t, srv, sp, migrate.Options{}, nil, spec("in", "INBOX", in), spec("other", "Other", other)); err != nil {
		t.Fatal(err)
	}
	other.msgs = append(other.msgs, memMsg{"b", b})
	if _, err := runOnce(t, srv, sp, migrate.Options{}, nil, spec("in", "INBOX", in), spec("other", "Other", other)); err != nil {
		t.Fatal(err)
	}
	got, _ := srv.Messages("Other")
	if len(got) != 1 {
		t.Errorf("Other holds %d messages, want 1 (B duplicated)", len(got))
	}
}

// unreadable refuses to open one message, as a malformed archive file.
type unreadable struct{ *memSrc }

func (u unreadable) Open(ctx context.Context, ref source.Ref) (io.ReadCloser, error) {
	if ref.ID == "bad" {
		return nil, fmt.Errorf("bad.emlx: byte count 999 beyond the file: %w", source.ErrUnreadable)
	}
	return u.memSrc.Open(ctx, ref)
}

func TestUnreadableMessageFailsAlone(t *testing.T) {
	srv := imaptest.NewServer(t, "u", "p")
	src := unreadable{&memSrc{[]memMsg{{"a", msg("a@x", "a")}, {"bad", msg("b@x", "b")}, {"c", msg("c@x", "c")}}}}
	s := migrate.SourceSpec{Name: "arch", Folder: "INBOX", Open: func(context.Context) (source.Source, error) { return src, nil }}
	rep, err := runOnce(t, srv, filepath.Join(t.TempDir(), "s.db"), migrate.Options{}, nil, s)
	if err != nil {
		t.Fatalf("Run() = %v, want the run to go on past one unreadable message", err)
	}
	if rep.Copied != 2 || rep.Failed() != 1 || !strings.Contains(rep.Failures[0].Reason, "byte count") {
		t.Fatalf("copied %d failures %+v, want 2 copied and the unreadable one failed with its reason", rep.Copied, rep.Failures)
	}
}
