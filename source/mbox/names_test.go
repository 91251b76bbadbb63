package mbox

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/source"
)

// A file named in Latin-1 (io/fs would refuse the name) opens on a source
// that has not listed it, as any other does; IDs still cannot leave the
// directory.
func TestOpenWithoutListNameNotUTF8(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Re\xe7us.sbd/Ann\xe9e", from1+"Subject: latin\n\nbody\n")
	refs := listAll(t, newSource(t, Options{Path: dir}))
	if len(refs) != 1 || refs[0].Folder != "Re\xe7us/Ann\xe9e" {
		t.Fatalf("List gave %+v, want one message in folder Re\\xe7us/Ann\\xe9e", refs)
	}
	fresh := newSource(t, Options{Path: dir})
	if got, want := string(readAll(t, fresh, refs[0])), "Subject: latin\r\n\r\nbody\r\n"; got != want {
		t.Errorf("Open on a fresh source = %q, want %q", got, want)
	}
	for _, id := range []string{"../x#0#00", "/etc/passwd#0#00", "#0#00"} {
		if _, err := fresh.Open(context.Background(), source.Ref{ID: id}); err == nil {
			t.Errorf("Open(%q) = nil error, want one", id)
		}
	}
}
