package mbox

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/source"
)

func init() {
	source.Register(source.ArchiveKind{Name: "mbox", Open: openArchive})
}

// openArchive opens mbox:PATH. A Thunderbird store is read with its
// X-Mozilla-Status fields (see mozillaStore).
func openArchive(o source.ArchiveOptions) (source.Source, error) {
	s, err := New(Options{Path: o.Path, IncludeDeleted: o.IncludeDeleted, Warn: o.Warn, Mozilla: mozillaStore(o.Path)})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// mozillaStore reports whether an mbox path is a Thunderbird store (a
// .msf index beside the file, or inside the directory): then its
// X-Mozilla-Status fields count, and expunged messages are not migrated.
func mozillaStore(p string) bool {
	if _, err := os.Stat(p + ".msf"); err == nil {
		return true
	}
	found := false
	filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".msf") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
