package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailferry/mailferry/source"
)

// A folder is one Maildir of the tree, or a directory that cannot be
// read (err set): a failure Ref.
type folder struct {
	name string // Ref.Folder: "/"-separated, UTF-8, "" for the top
	dir  string // the directory holding cur/ and new/
	err  error  // why the folder is not read
}

// show names the folder for a person: its name and its directory.
func (f folder) show() string {
	if f.name == "" {
		return f.dir
	}
	return f.name + " (" + f.dir + ")"
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
// Maildir; then other subdirectories that are Maildirs are not read:
// they are returned with err set (failure Refs). Otherwise the tree is
// read as LAYOUT=fs.
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
			p := filepath.Join(root, d)
			folders = append(folders, folder{name: decodeName(p, d, warn), dir: p, err: source.Unreadable("cannot read folder "+p+
				": a Maildir outside the Maildir++ layout of its parent (whose folders are .Name directories); "+
				"give it as a maildir source of its own", nil)})
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
// only subfolders). Dot directories are left out. A directory that cannot
// be read is added with err set (a failure Ref), named prefix.
func walkFS(ctx context.Context, dir, prefix string, out []folder, warn func(string, error)) ([]folder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		f := folder{name: prefix, dir: dir}
		f.err = source.Unreadable("cannot read folder "+f.show(), err)
		return append(out, f), nil
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
