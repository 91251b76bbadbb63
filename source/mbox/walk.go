package mbox

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

var (
	errSymlink    = errors.New("it is a symbolic link, which is not followed")
	errNotRegular = errors.New("it is not a regular file")
)

// A fileInfo is one mbox file of the source, or a file or directory that
// cannot be read (err).
type fileInfo struct {
	path   string    // to open
	rel    string    // "/"-separated, relative to the directory; the base name for a single file; a directory's ends in "/"
	folder string    // Ref.Folder
	mode   quoteMode // set by the scan
	// known marks a name Thunderbird or Apple Mail gives files of its own
	// (indexes, settings, logs): such a file is read only if it starts
	// like an mbox, and else left out without a word.
	known bool
	err   error // why the file or directory cannot be read
	dir   bool  // the entry is a directory
}

// walkDir walks a directory tree; tests replace it to make directories
// fail.
var walkDir = filepath.WalkDir

// walk returns the candidate mbox files under root in lexical order, each
// with its folder name. Hidden files and directories are left out; files
// skipName names are marked known. Symbolic links, other files that are
// not regular, and directories that cannot be read are returned with an
// err, to be reported as failures.
func walk(root string) ([]*fileInfo, error) {
	var files []*fileInfo
	err := walkDir(root, func(path string, d fs.DirEntry, err error) error {
		if path == root {
			return err
		}
		rel, rerr := filepath.Rel(root, path)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if err != nil {
			// A directory whose entries cannot be read (the second call
			// for it), or an entry that vanished.
			isDir := d != nil && d.IsDir()
			if isDir {
				rel += "/"
			}
			files = append(files, &fileInfo{path: path, rel: rel, folder: entryFolder(rel), err: err, dir: isDir})
			return nil
		}
		name := d.Name()
		switch {
		case d.IsDir() && (strings.HasPrefix(name, ".") || strings.EqualFold(filepath.Ext(name), ".mozmsgs")):
			return filepath.SkipDir
		case d.IsDir() || strings.HasPrefix(name, "."):
			return nil
		}
		f := &fileInfo{path: path, rel: rel, folder: folderName(rel), known: skipName(name)}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			f.err = errSymlink
		case !d.Type().IsRegular():
			f.err = errNotRegular
		}
		if f.err != nil && f.known {
			return nil // not read, and not mail either
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mbox walk: %w", err)
	}
	return files, nil
}

// entryFolder returns the folder of a file, or of a directory's
// subfolders for a rel ending in "/".
func entryFolder(rel string) string {
	if d, ok := strings.CutSuffix(rel, "/"); ok {
		return strings.TrimSuffix(folderName(d+"/x"), "/x")
	}
	return folderName(rel)
}

// skipName reports whether a file has a name Thunderbird or Apple Mail
// gives its own files that are not mail: indexes, settings, logs.
func skipName(name string) bool {
	switch strings.ToLower(name) {
	case "filterlog.html", "msgfilterrules.dat", "popstate.dat", "table_of_contents", "thumbs.db", "desktop.ini":
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".msf", ".dat", ".json", ".html", ".mozmsgs", ".sqlite", ".rdf", ".plist":
		// Thunderbird's indexes, settings, logs (junklog.html), feeds
		// lists (feeds.rdf) and search-index directories
		// (Inbox.mozmsgs/); Apple Mail's Info.plist.
		return true
	}
	return false
}

// folderName maps a file's relative path to its folder: a directory
// "NAME.sbd" (Thunderbird) or "NAME.mbox" (Apple Mail) is the folder
// NAME, a file loses a ".mbox" or ".mbx" extension, and the file "mbox"
// inside "NAME.mbox" is the folder NAME. Other dots are part of the name
// ("v1.2" stays "v1.2").
func folderName(rel string) string {
	parts := strings.Split(rel, "/")
	last := len(parts) - 1
	if last > 0 && parts[last] == "mbox" && hasSuffixFold(parts[last-1], ".mbox") {
		parts, last = parts[:last], last-1
		parts[last] = trimExt(parts[last], ".mbox")
	} else {
		parts[last] = trimExt(parts[last], ".mbox", ".mbx")
	}
	for i := range last {
		parts[i] = trimExt(parts[i], ".sbd", ".mbox")
	}
	return strings.Join(parts, "/")
}

// trimExt removes the first of exts that name ends with, in any case,
// unless nothing would be left.
func trimExt(name string, exts ...string) string {
	for _, e := range exts {
		if hasSuffixFold(name, e) && len(name) > len(e) {
			return name[:len(name)-len(e)]
		}
	}
	return name
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
