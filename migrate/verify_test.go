package migrate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/pop3"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap"
	"github.com/mailferry/mailferry/target/imap/imaptest"
)

// verifyRun runs Verify as the command does: the state opened read-only
// (none when the file does not exist), the target logged in as user.
func verifyRun(t *testing.T, srv *imaptest.Server, pass, statePath string, opts migrate.Options, specs ...migrate.SourceSpec) *migrate.VerifyReport {
	t.Helper()
	var st migrate.Store
	s, err := state.Open(statePath, state.Options{ReadOnly: true})
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		t.Fatal(err)
	default:
		defer s.Close()
		st = s
	}
	tgt, err := imap.New(context.Background(), imap.Options{Addr: srv.Addr, TLS: imap.TLSNone, Username: "u",
		Password: pass, Connections: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	m := &migrate.Migrator{Target: tgt, State: st, Sources: specs, Options: opts}
	rep, err := m.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	return rep
}

func (r *rig) popSpec() migrate.SourceSpec {
	opts := pop3.Options{Addr: r.pop.Addr, TLS: pop3.TLSNone, Username: "u", Password: "pop-secret"}
	return migrate.SourceSpec{Name: "pop3://u@test", Folder: "INBOX",
		Open: func(ctx context.Context) (source.Source, error) { return pop3.Dial(ctx, opts) }}
}

func (r *rig) verify() *migrate.VerifyReport {
	r.t.Helper()
	return verifyRun(r.t, r.imap, "imap-secret", r.state, r.opts, r.popSpec())
}

// check compares a report's totals over all folders with want.
func check(t *testing.T, rep *migrate.VerifyReport, want migrate.FolderCheck) {
	t.Helper()
	var got migrate.FolderCheck
	for _, f := range rep.Folders {
		got.Expected += f.Expected
		got.Present += f.Present
		got.Altered += f.Altered
		got.Missing += f.Missing
		got.Differs += f.Differs
		got.Elsewhere += f.Elsewhere
		got.Extra += f.Extra
	}
	if got != want {
		t.Fatalf("verify totals %+v, want %+v\nfolders: %+v", got, want, rep.Folders)
	}
	if len(rep.Missing) != want.Missing || len(rep.Differs) != want.Differs || len(rep.Extra) != want.Extra ||
		len(rep.Altered) != want.Altered {
		t.Fatalf("lists: %d missing %d differing %d extra %d altered, want %d/%d/%d/%d", len(rep.Missing), len(rep.Differs),
			len(rep.Extra), len(rep.Altered), want.Missing, want.Differs, want.Extra, want.Altered)
	}
	if ok := want.Missing == 0 && want.Differs == 0 && want.Altered == 0; rep.OK() != ok {
		t.Fatalf("OK() = %v, want %v", rep.OK(), ok)
	}
}

// expunge removes the messages of folder whose bytes contain marker, as
// a user deleting them in their mail client.
func expunge(t *testing.T, srv *imaptest.Server, pass, folder string, marker []byte) {
	t.Helper()
	msgs, err := srv.Fetch(folder)
	if err != nil {
		t.Fatal(err)
	}
	var uids goimap.UIDSet
	for _, m := range msgs {
		if bytes.Contains(m.Body, marker) {
			uids.AddNum(goimap.UID(m.UID))
		}
	}
	if len(uids) == 0 {
		t.Fatalf("no message in %s holds %q", folder, marker)
	}
	c, err := imapclient.DialInsecure(srv.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("u", pass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}
	if err := c.Store(uids, store, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestVerifyAfterMigrateAllPresentWritesNothing(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.run()
	before, err := r.imap.Fetch("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	sum := fileSum(t, r.state)
	rep := r.verify()
	check(t, rep, migrate.FolderCheck{Expected: len(msgs), Present: len(msgs)})
	if len(rep.Folders) != 1 || rep.Folders[0].Folder != "INBOX" || rep.Listed != len(msgs) {
		t.Fatalf("folders %+v listed %d, want INBOX alone and %d listed", rep.Folders, rep.Listed, len(msgs))
	}
	after, err := r.imap.Fetch("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("verify changed the target: %d messages, then %d", len(before), len(after))
	}
	for i := range after {
		if !slices.Equal(after[i].Flags, before[i].Flags) {
			t.Fatalf("verify changed flags of UID %d: %v -> %v", after[i].UID, before[i].Flags, after[i].Flags)
		}
	}
	if fileSum(t, r.state) != sum {
		t.Fatal("verify changed the state file")
	}
	// Without any state file the answer is the same and none is created.
	r.state = filepath.Join(t.TempDir(), "none.db")
	check(t, r.verify(), migrate.FolderCheck{Expected: len(msgs), Present: len(msgs)})
	if _, err := os.Stat(r.state); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("verify created a state file (stat: %v)", err)
	}
}

func TestVerifyFindsExpungedMessage(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.run()
	expunge(t, r.imap, "imap-secret", "INBOX", []byte(".leading dot"))
	rep := r.verify()
	check(t, rep, migrate.FolderCheck{Expected: len(msgs), Present: len(msgs) - 1, Missing: 1})
	m := rep.Missing[0]
	if m.Source != "pop3://u@test" || m.RefID == "" || m.Key != "<b@x>" || m.Subject != "test" || m.Folder != "INBOX" {
		t.Fatalf("missing %+v, want b@x from pop3://u@test with its ref ID and subject", m)
	}
	// A message without a Message-ID is found by its content.
	expunge(t, r.imap, "imap-secret", "INBOX", []byte("no message id"))
	check(t, r.verify(), migrate.FolderCheck{Expected: len(msgs), Present: len(msgs) - 2, Missing: 2})
}

func TestVerifyReportsExtraMessage(t *testing.T) {
	msgs := tricky()
	r := newRig(t, msgs)
	r.run()
	seedTarget(t, r, msg("by-hand@x", "appended by hand"))
	rep := r.verify()
	check(t, rep, migrate.FolderCheck{Expected: len(msgs), Present: len(msgs), Extra: 1})
	if e := rep.Extra[0]; e.Folder != "INBOX" || e.Key != "<by-hand@x>" || e.UID == 0 {
		t.Fatalf("extra %+v, want <by-hand@x> in INBOX with its UID", e)
	}
	// A second copy of a migrated message is extra too: the target holds
	// it twice.
	seedTarget(t, r, msgs[0], msg("", "no message id"))
	check(t, r.verify(), migrate.FolderCheck{Expected: len(msgs), Present: len(msgs), Extra: 3})
}

func TestVerifyReportsAlteredBody(t *testing.T) {
	r := newRig(t, [][]byte{msg("id@x", "source body")})
	seedTarget(t, r, msg("id@x", "server body"))
	rep := r.verify()
	check(t, rep, migrate.FolderCheck{Expected: 1, Differs: 1})
	if rep.Differs[0].Key != "<id@x>" {
		t.Fatalf("differs %+v", rep.Differs)
	}
	// Once migrated (the reused ID does not stop the copy), it is present;
	// the server's own message is extra.
	r.run()
	check(t, r.verify(), migrate.FolderCheck{Expected: 1, Present: 1, Extra: 1})
}

func TestVerifyCountsDedupDuplicateAsPresent(t *testing.T) {
	srv := imaptest.NewServer(t, "u", "p")
	sp := filepath.Join(t.TempDir(), "s.db")
	a, b := msg("a@x", "A"), msg("b@x", "B")
	in := spec("in", "INBOX", &memSrc{[]memMsg{{"a", a}}})
	other := spec("other", "Other", &memSrc{[]memMsg{{"a", a}, {"b", b}}})
	rep, err := runOnce(t, srv, sp, migrate.Options{}, nil, in, other)
	if err != nil || rep.Duplicates != 1 || rep.Copied != 2 {
		t.Fatalf("migrate: %v, copied %d duplicates %d, want 2 and 1", err, rep.Copied, rep.Duplicates)
	}
	want := migrate.FolderCheck{Expected: 3, Present: 3, Elsewhere: 1}
	vrep := verifyRun(t, srv, "p", sp, migrate.Options{}, in, other)
	check(t, vrep, want)
	if vrep.Elsewhere != 1 {
		t.Fatalf("Elsewhere = %d, want 1", vrep.Elsewhere)
	}
	// The state is not needed: the first source copy of a message is
	// where dedup: account put it.
	check(t, verifyRun(t, srv, "p", filepath.Join(t.TempDir(), "none.db"), migrate.Options{}, in, other), want)
	// The state alone knows where a duplicate went once its first source
	// no longer lists it.
	check(t, verifyRun(t, srv, "p", sp, migrate.Options{}, other), migrate.FolderCheck{Expected: 2, Present: 2, Elsewhere: 1})
	// With the copy gone, both are missing.
	expunge(t, srv, "p", "INBOX", []byte("A"))
	check(t, verifyRun(t, srv, "p", sp, migrate.Options{}, in, other), migrate.FolderCheck{Expected: 3, Present: 1, Missing: 2})
}

func TestVerifyDedupOffCountsCopies(t *testing.T) {
	m := msg("same@x", "body")
	r := newRig(t, [][]byte{m, m})
	r.opts.Dedup = migrate.DedupOff
	r.run()
	check(t, r.verify(), migrate.FolderCheck{Expected: 2, Present: 2})
	expunge(t, r.imap, "imap-secret", "INBOX", []byte("body"))
	seedTarget(t, r, m)
	check(t, r.verify(), migrate.FolderCheck{Expected: 2, Present: 1, Missing: 1})
}

func TestVerifyUnreadableSourceMessageIsReported(t *testing.T) {
	srv := imaptest.NewServer(t, "u", "p")
	src := unreadable{&memSrc{[]memMsg{{"a", msg("a@x", "a")}, {"bad", msg("b@x", "b")}}}}
	s := migrate.SourceSpec{Name: "arch", Folder: "INBOX", Open: func(context.Context) (source.Source, error) { return src, nil }}
	sp := filepath.Join(t.TempDir(), "s.db")
	if _, err := runOnce(t, srv, sp, migrate.Options{}, nil, s); err != nil {
		t.Fatal(err)
	}
	rep := verifyRun(t, srv, "p", sp, migrate.Options{}, s)
	if rep.OK() || len(rep.Unreadable) != 1 || rep.Unreadable[0].RefID != "bad" || rep.Unreadable[0].Reason == "" {
		t.Fatalf("unreadable %+v OK %v, want the bad message reported with its reason", rep.Unreadable, rep.OK())
	}
}
