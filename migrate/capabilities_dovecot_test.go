package migrate_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/state"
	"github.com/mailferry/mailferry/target/imap"
)

// capsTree is a Maildir++ tree: folder ("" = INBOX) -> messages.
type capsTree map[string][][]byte

// capsMsg makes a message; id "" has no Message-ID.
func capsMsg(id, subject, body string) []byte {
	h := "From: a@example.org\r\nSubject: " + subject + "\r\n"
	if id != "" {
		h += "Message-ID: <" + id + ">\r\n"
	}
	return []byte(h + "\r\n" + body + "\r\n")
}

// capsSource returns the tree and, per target folder, what must land
// there: role folders found by name (no SPECIAL-USE), the filed copy of a
// message also in INBOX, messages without Message-ID, a large one, one
// holding NUL, and two marked to be cut.
func capsSource() (capsTree, map[string][][]byte) {
	sent := capsMsg("sent1@example.org", "sent", "a reply")
	tree := capsTree{
		"": {
			capsMsg("in1@example.org", "hello", "first"),
			capsMsg("", "no id", "keyed by content"),
			capsMsg("big@example.org", "big", strings.Repeat("a long line of text, ", 2000)),
			capsMsg("nul@example.org", "nul", "before\x00after"),
			capsMsg("cut1@example.org", "cut-mark-1", "stored, answer lost"),
			capsMsg("", "cut-mark-2", "stored, answer lost, no id"),
			sent, // also filed in Sent Items: lands there only
		},
		"Sent Items": {sent, capsMsg("", "sent", "no id either")},
		"Spam":       {capsMsg("junk1@example.org", "junk", "buy now")},
		"Drafts":     {capsMsg("", "draft", "unfinished")},
		"Work/2024":  {capsMsg("w1@example.org", "work", "report")},
	}
	want := map[string][][]byte{
		"INBOX":         tree[""][:6],
		"Sent Messages": tree["Sent Items"], // the target's sent folder, by its name
		"Junk":          tree["Spam"],
		"Drafts":        tree["Drafts"], // created, without USE
		"Work/2024":     tree["Work/2024"],
	}
	return tree, want
}

// writeMaildir writes tree as a Maildir++ under dir, with CRLF lines (what
// Open returns), and returns dir.
func writeMaildir(t *testing.T, tree capsTree) string {
	dir := t.TempDir()
	for folder, msgs := range tree {
		d := dir
		if folder != "" {
			d = filepath.Join(dir, "."+strings.ReplaceAll(folder, "/", "."))
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i, m := range msgs {
			name := filepath.Join(d, "cur", fmt.Sprintf("17000000%02d.M%dP1.test:2,S", i, i))
			if err := os.WriteFile(name, m, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// allHidden are the capabilities a plain IMAP4rev1 server lacks.
var allHidden = []string{"LITERAL+", "LITERAL-", "UIDPLUS", "MOVE", "SPECIAL-USE", "CREATE-SPECIAL-USE",
	"BINARY", "UNSELECT", "NAMESPACE"}

// TestDovecotWithoutCapabilities migrates a Maildir++ tree into the real
// Dovecot behind a proxy that hides LITERAL+, UIDPLUS (and its APPENDUID
// codes), MOVE, SPECIAL-USE (and the attributes in LIST),
// CREATE-SPECIAL-USE, BINARY, UNSELECT and NAMESPACE, and cuts two APPENDs
// after Dovecot stored them (the answer lost). With everything hidden the
// APPENDs take go-imap's path, one synchronizing literal at a time; with
// LITERAL+ kept, the pipelined path, whose cut fails the other APPENDs in
// flight on that connection too. Either way: every message once in its
// folder, byte for byte (Dovecot serves NUL as 0x80), role folders found by
// name, no command using a hidden capability, a re-run copies nothing, and
// with the state lost a third run copies nothing.
func TestDovecotWithoutCapabilities(t *testing.T) {
	cases := []struct {
		name string
		hide []string
	}{
		{"all hidden", allHidden},
		{"LITERAL+ kept", slices.DeleteFunc(slices.Clone(allHidden), func(c string) bool { return strings.HasPrefix(c, "LITERAL") })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { withoutCaps(t, c.hide) })
	}
}

func withoutCaps(t *testing.T, hide []string) {
	dc := dovecottest.Start(t, dovecottest.Options{SpecialUse: true,
		Users: []dovecottest.User{{Name: "bob", Password: "imap-secret"}}})
	// The target has a sent folder under another name than the
	// declared one, and the declared Junk, whose \Junk the proxy hides.
	dc.Exec(t, "mailbox", "create", "-u", "bob", "Sent Messages", "Junk")
	tree, want := capsSource()
	dir := writeMaildir(t, tree)
	proxy := newCapsProxy(t, dc.IMAPAddr, hide, "cut-mark-1", "cut-mark-2")
	statePath := filepath.Join(t.TempDir(), "state.db")

	rep, retries := capsRun(t, proxy.addr(), dir, statePath, hide)
	if retries == 0 {
		t.Errorf("first run retried nothing, want the cut APPENDs retried")
	}
	total := 0
	for _, msgs := range want {
		total += len(msgs)
	}
	if rep.Copied != total || rep.Duplicates != 1 {
		t.Errorf("first run: copied %d, duplicates %d; want %d, 1", rep.Copied, rep.Duplicates, total)
	}
	checkCapsTarget(t, dc, want, "after run 1")

	rep, _ = capsRun(t, proxy.addr(), dir, statePath, hide)
	if rep.Copied != 0 {
		t.Errorf("second run copied %d, want 0", rep.Copied)
	}
	if err := os.Remove(statePath); err != nil {
		t.Fatal(err)
	}
	rep, _ = capsRun(t, proxy.addr(), dir, statePath, hide)
	if rep.Copied != 0 || rep.Present != total {
		t.Errorf("run with the state lost: copied %d, present %d; want 0, %d", rep.Copied, rep.Present, total)
	}
	checkCapsTarget(t, dc, want, "after run 3")

	misuse, cuts, capsCut, codesCut, attrsCut, _ := proxy.report()
	t.Logf("proxy: %d capabilities, %d APPENDUID codes, %d special-use attributes hidden; %d APPENDs cut",
		capsCut, codesCut, attrsCut, cuts)
	if len(misuse) > 0 {
		t.Errorf("commands that used a hidden capability: %q", misuse)
	}
	if cuts != 2 || capsCut == 0 || codesCut == 0 || attrsCut == 0 {
		t.Errorf("proxy cut %d APPENDs and hid %d capabilities, %d codes, %d attributes; want 2 and some of each",
			cuts, capsCut, codesCut, attrsCut)
	}
}

// capsRun runs the tree into bob's account through the proxy and fails the
// test on an error or a failed message. It returns the report and the
// number of retries.
func capsRun(t *testing.T, addr, dir, statePath string, hide []string) (*migrate.Report, int) {
	t.Helper()
	ctx := context.Background()
	st, err := state.Open(statePath, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tgt, err := imap.New(ctx, imap.Options{Addr: addr, TLS: imap.TLSNone, Username: "bob",
		Password: "imap-secret", Connections: 4, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	for _, c := range hide {
		if tgt.Caps().Has(goimap.Cap(c)) {
			t.Fatalf("target sees %s, which the proxy hides", c)
		}
	}
	m := &migrate.Migrator{Target: tgt, State: st, Options: migrate.Options{Uploaders: tgt.MaxInFlight(),
		Settle: 200 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		Sources: []migrate.SourceSpec{{Name: "maildir:" + dir,
			Open: func(context.Context) (source.Source, error) { return maildir.New(maildir.Options{Path: dir}) }}}}
	retries := 0
	m.Event = func(e migrate.Event) {
		if e.Kind == migrate.EventRetry {
			retries++
		}
	}
	rep, err := m.Run(ctx)
	if err != nil || rep.Failed() != 0 {
		t.Fatalf("Run() = %v, failures %+v", err, rep.Failures)
	}
	return rep, retries
}

// checkCapsTarget checks that bob's account holds want and nothing else:
// every message once, in its folder, byte for byte (NUL as 0x80, as
// Dovecot serves it over BODY[]).
func checkCapsTarget(t *testing.T, dc *dovecottest.Server, want map[string][][]byte, when string) {
	t.Helper()
	nul := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte{0}, []byte{0x80}) }
	folders := dc.Folders(t, "bob")
	for _, f := range folders {
		if _, ok := want[f]; !ok && f != "Work" { // Work: the parent of Work/2024
			t.Errorf("Dovecot has folder %q, want only %v and Work", f, slices.Collect(maps.Keys(want)))
		}
	}
	for f, msgs := range want {
		if !slices.Contains(folders, f) {
			t.Errorf("Dovecot has no folder %q", f)
			continue
		}
		var got, w [][]byte
		for _, m := range dc.Fetch(t, "bob", f) {
			got = append(got, m.Body)
		}
		for _, m := range msgs {
			w = append(w, nul(m))
		}
		t.Run(when+" "+f, func(t *testing.T) { wantOnce(t, got, w) })
	}
}
