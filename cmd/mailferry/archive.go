package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/source"
	"github.com/mailferry/mailferry/source/eml"
	"github.com/mailferry/mailferry/source/maildir"
	"github.com/mailferry/mailferry/source/mbox"
	"github.com/mailferry/mailferry/source/thunderbird"
)

// archiveKinds are the local archive sources, by URL scheme.
var archiveKinds = []string{"mbox", "maildir", "eml", "thunderbird"}

// archiveURL splits "kind:PATH" when kind is an archive kind.
func archiveURL(u string) (kind, path string, ok bool) {
	kind, path, found := strings.Cut(u, ":")
	for _, k := range archiveKinds {
		if found && kind == k && path != "" {
			return kind, path, true
		}
	}
	return "", "", false
}

// archiveSpec makes the spec of an archive source. The path is made
// absolute so that the state knows the archive wherever mailferry runs.
func archiveSpec(s *SourceEndpoint, kind, p string, log *slog.Logger) (migrate.SourceSpec, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return migrate.SourceSpec{}, configErrorf("%s:%s: %v", kind, p, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return migrate.SourceSpec{}, configErrorf("%s:%s: %v", kind, p, err)
	}
	folder := s.Folder
	if folder == "" && !fi.IsDir() {
		// One file: its name is the folder, unless the config says.
		folder = strings.TrimSuffix(fi.Name(), filepath.Ext(fi.Name()))
	}
	warn := func(path string, err error) { log.Warn("archive", "source", kind+":"+abs, "path", path, "note", err) }
	merge, _ := s.mergeAccounts(0) // checked by Config.validate
	open := func(context.Context) (source.Source, error) {
		var src source.Source
		var err error
		switch kind {
		case "mbox":
			src, err = mbox.New(mbox.Options{Path: abs, IncludeDeleted: s.IncludeDeleted, Warn: warn,
				Mozilla: thunderbirdStore(abs)})
		case "maildir":
			src, err = maildir.New(maildir.Options{Path: abs, IncludeDeleted: s.IncludeDeleted, Warn: warn})
		case "eml":
			src, err = eml.New(eml.Options{Path: abs, IncludeDeleted: s.IncludeDeleted, Warn: warn})
		case "thunderbird":
			src, err = thunderbird.New(thunderbird.Options{Path: abs, IncludeDeleted: s.IncludeDeleted, MergeAccounts: merge, Warn: warn})
		}
		if err != nil {
			return nil, &configError{fmt.Errorf("%s:%s: %w", kind, p, err)}
		}
		return src, nil
	}
	// Open it once now: an archive that cannot be read as its kind (a file
	// that is not an mbox, a profile without prefs.js) stops the job
	// before anything is copied, not when the run reaches it.
	src, err := open(context.Background())
	if err != nil {
		return migrate.SourceSpec{}, err
	}
	src.Close()
	var maps []migrate.FolderMap
	for _, m := range s.FolderMap {
		maps = append(maps, migrate.FolderMap{From: m.From, To: m.To})
	}
	return migrate.SourceSpec{Name: kind + ":" + abs, Folder: folder, FolderMap: maps,
		Include: s.Include, Exclude: s.Exclude, Open: open}, nil
}

// thunderbirdStore reports whether an mbox path is a Thunderbird store
// (a .msf index beside the file, or inside the directory): then its
// X-Mozilla-Status fields count, and expunged messages are not migrated.
func thunderbirdStore(p string) bool {
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
