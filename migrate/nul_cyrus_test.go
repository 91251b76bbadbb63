package migrate_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/internal/servertest"
	"github.com/mailferry/mailferry/migrate"
)

// nulMail is mail holding NUL octets in the body, with and without a
// Message-ID, beside a plain message.
func nulMail() [][]byte {
	return [][]byte{
		[]byte("From: a@example.org\r\nMessage-ID: <nul-id@example.org>\r\nSubject: nul\r\n\r\nbefore\x00after\r\n\x00\r\n"),
		[]byte("From: b@example.org\r\nSubject: nul, no Message-ID\r\n\r\nanother\x00body\r\n"),
		msg("plain-nul-test@example.org", "no NUL here"),
	}
}

// TestCyrusNULFoundAgain migrates mail holding NUL into Cyrus 3.6, which
// takes it as a literal8 and serves it over BODY[] as one ("BODY[] ~{n}"):
// each message lands once, byte for byte; with the state file deleted, a
// second run finds every copy (it fetches them to compare) and copies
// nothing, exit 0; verify says OK.
func TestCyrusNULFoundAgain(t *testing.T) {
	msgs := nulMail()
	r := newCyrusRig(t, cyrustest.Options{}, msgs)
	if rep := r.run(); rep.Copied != len(msgs) {
		t.Fatalf("first run copied %d, want %d", rep.Copied, len(msgs))
	}
	wantBinary(t, r, msgs)
	r.state = filepath.Join(t.TempDir(), "new.db")
	if rep := r.run(); rep.Copied != 0 || rep.Present != len(msgs) {
		t.Fatalf("with the state file lost: copied %d, present %d; want 0 and %d", rep.Copied, rep.Present, len(msgs))
	}
	wantBinary(t, r, msgs)
	check(t, r.verify(), migrate.FolderCheck{Expected: len(msgs), Present: len(msgs)})
}

// wantBinary checks that the user's INBOX holds exactly want, read with
// BINARY.PEEK[] (go-imap reads a literal8 only there; these messages have
// no transfer encoding to undo).
func wantBinary(t *testing.T, r *cyrusRig, want [][]byte) {
	t.Helper()
	got, err := servertest.FetchBinary(r.srv.IMAPAddr, r.user.Name, r.user.Password, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.SortFunc(g, bytes.Compare)
	slices.SortFunc(w, bytes.Compare)
	if !slices.EqualFunc(g, w, bytes.Equal) {
		t.Fatalf("Cyrus holds %d messages:\n%q\nwant %d:\n%q", len(g), g, len(w), w)
	}
}
