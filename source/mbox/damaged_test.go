package mbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/sourcetest"
)

// A file whose start is damaged (a crash left NUL blocks, a tool cut off
// the first From line) still holds the messages after its first
// separator: they are listed, and the bytes before it are listed as one
// ref whose Open fails, so that the run reports them instead of the whole
// file being skipped as "not an mbox".
func TestDamagedStart(t *testing.T) {
	junk := "\x00\x00\x00\x00Subject: the rest of a message\n>>From quoted\nContent-Length: 0\n\n"
	file := junk + from1 + "Subject: one\n\n>From x\n\n" + from2 + "Subject: two\n\nbody\n"
	dir := t.TempDir()
	writeFile(t, dir, "Inbox", file)
	single := writeFile(t, t.TempDir(), "damaged.mbox", file)
	for name, opts := range map[string]Options{"tree": {Path: dir}, "single file": {Path: single}} {
		t.Run(name, func(t *testing.T) {
			s := newSource(t, opts)
			refs := listAll(t, s)
			if len(refs) != 3 {
				t.Fatalf("List gave %d refs, want 3 (the damaged start, two messages)", len(refs))
			}
			if !strings.Contains(refs[0].ID, "#0#") || refs[0].Flags != nil {
				t.Errorf("first ref %+v, want the bytes from offset 0, without flags", refs[0])
			}
			// The blank line before the From line is the separator's.
			_, err := s.Open(context.Background(), refs[0])
			want := fmt.Sprintf(`first %d bytes come before any "From " line`, len(junk)-1)
			if !errors.Is(err, source.ErrUnreadable) || !strings.Contains(err.Error(), want) {
				t.Errorf("Open(damaged start) = %v, want ErrUnreadable saying why", err)
			}
			// The junk's ">>From " does not make the file mboxrd: ">From x"
			// loses its '>' as in mboxo.
			for i, want := range []string{"Subject: one\r\n\r\nFrom x\r\n", "Subject: two\r\n\r\nbody\r\n"} {
				if got := readAll(t, s, refs[i+1]); string(got) != want {
					t.Errorf("message %d = %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

// Blank lines before the first From line lose nothing: no ref for them.
func TestBlankLinesBeforeFirstFrom(t *testing.T) {
	s := fileSource(t, "\n\r\n\n"+from1+"Subject: one\n\nbody\n", Options{})
	sourcetest.Check(t, s, []sourcetest.Message{{Body: []byte("Subject: one\r\n\r\nbody\r\n")}})
}

// A file without any separator is still not an mbox, but in a tree it
// is a failure, not a warning: it may be a folder whose mail cannot be
// read.
func TestNoSeparatorIsNotMbox(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "notes", "Subject: looks like mail\n\nFrom here on, no separator.\n")
	var warned []string
	s := newSource(t, Options{Path: dir, Warn: func(p string, err error) { warned = append(warned, err.Error()) }})
	refs := listAll(t, s)
	if len(refs) != 1 || refs[0].ID != "notes#0#unreadable" || refs[0].Folder != "notes" || refs[0].Size != 0 || len(warned) != 0 {
		t.Fatalf("List gave %+v and warnings %q, want one failure ref for notes and no warning", refs, warned)
	}
	wantUnreadable(t, s, refs[0], "not an mbox file", "move it out of "+dir)
}
