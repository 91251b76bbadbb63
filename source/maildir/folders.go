package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A folder is one Maildir of the tree.
type folder struct {
	name string // Ref.Folder: "/"-separated, UTF-8, "" for the top
	dir  string // the directory holding cur/ and new/
}

// isMaildir reports whether dir holds cur/ or new/.
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// discover returns the folders of the tree at root, sorted by name, the
// top first. Maildir++ is chosen when root holds at least one ".Name"
// Maildir; then other subdirectories that are Maildirs are reported to
// warn and left out. Otherwise the tree is read as LAYOUT=fs.
func discover(ctx context.Context, root string, warn func(string, error)) ([]folder, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, err)
	}
	var plus, fsDirs []string
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || isMailSub(name) || !isMaildir(filepath.Join(root, name)) {
			continue
		}
		if strings.HasPrefix(name, ".") {
			plus = append(plus, name)
		} else {
			fsDirs = append(fsDirs, name)
		}
	}
	folders := []folder{{name: "", dir: root}}
	if len(plus) > 0 {
		for _, d := range fsDirs {
			warn(filepath.Join(root, d), fmt.Errorf("skipped: a Maildir outside the Maildir++ layout of its parent"))
		}
		folders = append(folders, plusPlusFolders(root, plus, warn)...)
	} else if folders, err = walkFS(ctx, root, "", folders, warn); err != nil {
		return nil, err
	}
	slices.SortStableFunc(folders, func(a, b folder) int { return strings.Compare(a.name, b.name) })
	return folders, nil
}

// isMailSub reports whether name is one of a Maildir's own subdirectories.
func isMailSub(name string) bool { return name == "cur" || name == "new" || name == "tmp" }

// plusPlusFolders names the Maildir++ subfolders: ".A.B" is "A/B".
func plusPlusFolders(root string, names []string, warn func(string, error)) []folder {
	var out []folder
	for _, n := range names {
		if n == "." || n == ".." {
			continue
		}
		parts := strings.Split(n[1:], ".")
		for i, p := range parts {
			parts[i] = decodeName(filepath.Join(root, n), p, warn)
		}
		out = append(out, folder{name: strings.Join(parts, "/"), dir: filepath.Join(root, n)})
	}
	return out
}

// walkFS adds the LAYOUT=fs folders under dir, at any depth; a directory
// that is not a Maildir is still searched (it may be a folder that holds
// only subfolders). Dot directories are left out.
func walkFS(ctx context.Context, dir, prefix string, out []folder, warn func(string, error)) ([]folder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		warn(dir, fmt.Errorf("skipped: %w", err))
		return out, nil
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || isMailSub(n) || strings.HasPrefix(n, ".") {
			continue
		}
		sub := filepath.Join(dir, n)
		name := decodeName(sub, n, warn)
		if prefix != "" {
			name = prefix + "/" + name
		}
		if isMaildir(sub) {
			out = append(out, folder{name: name, dir: sub})
		}
		if out, err = walkFS(ctx, sub, name, out, warn); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeName decodes one folder name component from modified UTF-7; one
// that does not decode is kept as it is, with a warning.
func decodeName(path, s string, warn func(string, error)) string {
	d, err := decodeMUTF7(s)
	if err != nil {
		warn(path, fmt.Errorf("folder name %q kept undecoded: %w", s, err))
		return s
	}
	return d
}
