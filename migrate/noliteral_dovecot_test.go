package migrate_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// TestDovecotConfiguredWithoutLiteralPlus migrates 40 messages into INBOX
// and three folders of a Dovecot whose imap_capability leaves out LITERAL+
// (no proxy: Dovecot itself announces the list), with a password login.
// The target must take the unpipelined APPEND path; every message must
// land once in its folder, and a re-run must copy nothing.
func TestDovecotConfiguredWithoutLiteralPlus(t *testing.T) {
	dc := dovecottest.Start(t, dovecottest.Options{
		Users:  []dovecottest.User{{Name: "bob", Password: "imap-secret"}},
		Config: "protocol imap {\n  imap_capability = " + dovecottest.CapabilitiesWithoutLiteral + "\n}",
	})
	tree := capsTree{}
	want := map[string][][]byte{}
	folders := map[string]string{"": "INBOX", "Lists": "Lists", "Projects": "Projects", "Work/2024": "Work/2024"}
	n := 0
	for src, dst := range folders {
		for i := range 10 {
			n++
			body := fmt.Sprintf("message %d of %s", i, dst)
			if i == 3 {
				body = strings.Repeat("a long line over the 4096 octets go-imap sends at once, ", 120)
			}
			m := capsMsg(fmt.Sprintf("m%d@example.org", n), fmt.Sprintf("%s %d", dst, i), body)
			tree[src] = append(tree[src], m)
			want[dst] = append(want[dst], m)
		}
	}
	dir := writeMaildir(t, tree)
	statePath := filepath.Join(t.TempDir(), "state.db")
	hide := []string{"LITERAL+", "LITERAL-"}

	rep, _ := capsRun(t, dc.IMAPAddr, dir, statePath, hide)
	if rep.Copied != n {
		t.Errorf("first run copied %d, want %d", rep.Copied, n)
	}
	checkCapsTarget(t, dc, want, "after run 1")

	rep, _ = capsRun(t, dc.IMAPAddr, dir, statePath, hide)
	if rep.Copied != 0 {
		t.Errorf("second run copied %d, want 0", rep.Copied)
	}
}
