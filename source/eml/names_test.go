package eml

import (
	"fmt"
	"testing"

	"github.com/mailferry/mailferry/source/sourcetest"
)

// Old archives name folders and files in Latin-1. io/fs refuses such
// names, and walking the tree through it skipped whole folders with only
// a warning; they are read like any other.
func TestNamesNotUTF8(t *testing.T) {
	root := sourcetest.Build(t, []sourcetest.File{
		{Path: "Re\xe7us/a.eml", Body: msg("a")},
		{Path: "Re\xe7us/Ann\xe9e 2019/b.eml", Body: msg("b")},
		{Path: "caf\xe9.eml", Body: msg("c")},
		{Path: "line\nend/d.eml", Body: msg("d")},
	})
	var warnings []string
	src := newSource(t, Options{Path: root, Warn: func(p string, err error) {
		warnings = append(warnings, fmt.Sprintf("%q: %v", p, err))
	}})
	sourcetest.Check(t, src, []sourcetest.Message{
		{Folder: "Re\xe7us/Ann\xe9e 2019", Body: wantCRLF("b")},
		{Folder: "Re\xe7us", Body: wantCRLF("a")},
		{Folder: "", Body: wantCRLF("c")},
		{Folder: "line\nend", Body: wantCRLF("d")},
	})
	if len(warnings) != 0 {
		t.Errorf("warnings %q, want none", warnings)
	}
}
