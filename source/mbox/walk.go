package mbox

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

var errNotRegular = errors.New("not a regular file: skipped")

// A fileInfo is one mbox file of the source.
type fileInfo struct {
	path   string    // to open
	rel    string    // "/"-separated, relative to the directory; the base name for a single file
	folder string    // Ref.Folder
	mode   quoteMode // set by the scan
}

// walk returns the candidate mbox files under root in lexical order, each
// with its folder name. Hidden files and directories and the files
// skipName names are left out; symbolic links and other non-regular
// files are reported to warn.
func walk(root string, warn func(string, error)) ([]*fileInfo, error) {
	var files []*fileInfo
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		name := d.Name()
		switch {
		case d.IsDir() && (strings.HasPrefix(name, ".") || strings.EqualFold(filepath.Ext(name), ".mozmsgs")):
			return filepath.SkipDir
		case d.IsDir() || skipName(name):
			return nil
		case !d.Type().IsRegular():
			warn(path, errNotRegular)
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		files = append(files, &fileInfo{path: path, rel: rel, folder: folderName(rel)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mbox walk: %w", err)
	}
	return files, nil
}

// skipName reports whether a file is known not to be an mbox: hidden
// files and Thunderbird's and Apple Mail's index and settings files.
func skipName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	switch strings.ToLower(name) {
	case "filterlog.html", "msgfilterrules.dat", "popstate.dat", "table_of_contents":
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".msf", ".dat", ".json", ".html", ".mozmsgs", ".sqlite":
		// Thunderbird's indexes, settings, logs (junklog.html) and its
		// search-index directories (Inbox.mozmsgs/).
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
