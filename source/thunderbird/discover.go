package thunderbird

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailferry/mailferry/source"
)

// An account is one local mail store directory of the profile.
type account struct {
	key     string // its directory name, unique: the prefix of Ref.ID
	dir     string
	name    string // display name, the folder prefix when not primary
	typ     string // server type from prefs.js, "" when found by scanning
	server  string // server id from prefs.js, "" when found by scanning
	maildir bool   // prefs.js says maildir store
	primary bool   // the default account (listed first)
	local   bool   // Local Folders: "on this computer", not an account the person named
	merged  bool   // its folders are the top level: primary, Local Folders, or Options.MergeAccounts
}

// A failure is something that holds mail and is not read: it is listed
// as a failure Ref whose Open returns err.
type failure struct {
	ref source.Ref
	err error
}

var (
	errIMAP  = errors.New("skipped: IMAP mail is on its server")
	errNews  = errors.New("skipped: news (NNTP) is not mail to migrate")
	errFeeds = errors.New("skipped: RSS feeds are not mail to migrate")
	errStale = errors.New("skipped: no account of prefs.js uses this directory, and it holds no mail")
	errNoDir = errors.New("skipped: the account's directory does not exist")
)

// A discovery is what findAccounts found.
type discovery struct {
	accts []*account // in listing order, named, primary and merged set
	fails []failure  // directories that hold mail but are not read
}

// findAccounts returns the accounts under Path, in listing order, with
// their names, primary and merged set (merge names the accounts of
// Options.MergeAccounts), and the directories left out that hold mail.
func findAccounts(path string, merge []string, warn func(string, error)) (*discovery, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", path)
	}
	d := &discovery{}
	var p profile
	switch {
	case isProfile(path):
		p, err = profileAccounts(path, filepath.Join(path, "Mail"), d, warn)
	case isAccount(path):
		d.accts = []*account{{dir: path}}
	case filepath.Base(path) == "Mail" && fileExists(filepath.Join(filepath.Dir(path), "prefs.js")):
		p, err = profileAccounts(filepath.Dir(path), path, d, warn)
	default:
		d.accts, err = scanMail(path, nil, warn)
	}
	if err != nil {
		return nil, err
	}
	if len(d.accts) == 0 {
		return nil, fmt.Errorf("%s: no local mail store (Thunderbird profile, Mail/ or account directory)", path)
	}
	d.accts = arrange(d.accts, p.primary)
	return d, mergeAccounts(d.accts, merge)
}

// profile is what prefs.js says about the accounts as a whole.
type profile struct {
	primary string // the primary server's id
}

// isProfile reports whether dir looks like a Thunderbird profile.
func isProfile(dir string) bool {
	return fileExists(filepath.Join(dir, "prefs.js")) || isDir(filepath.Join(dir, "Mail")) ||
		isDir(filepath.Join(dir, "ImapMail"))
}

// isAccount reports whether dir is an account directory: it holds an
// .msf file, an mbox file, a NAME.sbd directory or a maildir folder.
func isAccount(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "."):
		case e.IsDir() && (strings.HasSuffix(n, ".sbd") || isMaildirFolder(filepath.Join(dir, n))):
			return true
		case strings.HasSuffix(n, ".msf") || e.Type().IsRegular() && startsWithFrom(filepath.Join(dir, n)):
			return true
		}
	}
	return false
}

// profileAccounts reads prefs.js of dir and sets d.accts to the local
// accounts stored under mailDir.
func profileAccounts(dir, mailDir string, d *discovery, warn func(string, error)) (profile, error) {
	if filepath.Clean(mailDir) == filepath.Join(dir, "Mail") {
		warnSkippedDirs(dir, warn)
	}
	p, err := readPrefs(filepath.Join(dir, "prefs.js"))
	if err != nil {
		warn(filepath.Join(dir, "prefs.js"), fmt.Errorf("ignored: %w", err))
	}
	accts, claimed := prefsAccounts(p, dir, mailDir, warn)
	if len(accts) == 0 {
		d.accts, err = scanMail(mailDir, claimed, warn)
		return profile{}, err
	}
	d.accts = accts
	d.fails = unclaimed(mailDir, claimed, warn)
	return profile{primary: p.primaryServer()}, nil
}

// warnSkippedDirs reports the profile directories that are never read.
func warnSkippedDirs(profile string, warn func(string, error)) {
	if d := filepath.Join(profile, "ImapMail"); isDir(d) {
		warn(d, errIMAP)
	}
	if d := filepath.Join(profile, "News"); isDir(d) {
		warn(d, errNews)
	}
}

// prefsAccounts returns the local accounts prefs.js names under mailDir,
// and every directory a server of prefs.js claims.
func prefsAccounts(p prefs, profile, mailDir string, warn func(string, error)) ([]*account, map[string]bool) {
	claimed := map[string]bool{}
	var accts []*account
	localServer := p["mail.accountmanager.localfoldersserver"]
	for _, s := range p.servers(profile) {
		if s.dir == "" {
			continue
		}
		claimed[filepath.Clean(s.dir)] = true
		if !wanted(s.dir, profile, mailDir) {
			continue
		}
		if err := skipType(s.typ); err != nil {
			warn(s.dir, err)
			continue
		}
		if !isDir(s.dir) {
			warn(s.dir, errNoDir)
			continue
		}
		local := s.id == localServer || localServer == "" && s.typ == "none" && filepath.Base(s.dir) == "Local Folders"
		accts = append(accts, &account{dir: s.dir, name: s.name, typ: s.typ, server: s.id, maildir: s.maildir, local: local})
	}
	return accts, claimed
}

// wanted reports whether an account directory of prefs.js is read:
// with mailDir the profile's Mail/, any directory outside ImapMail/ and
// News/; else (Path is a Mail/ directory) only those under mailDir.
func wanted(dir, profile, mailDir string) bool {
	if filepath.Clean(mailDir) != filepath.Join(profile, "Mail") {
		return under(dir, mailDir)
	}
	return !under(dir, filepath.Join(profile, "ImapMail")) && !under(dir, filepath.Join(profile, "News"))
}

// skipType returns why a server type is not read, or nil.
func skipType(typ string) error {
	switch typ {
	case "imap", "ews", "owl", "graph":
		return errIMAP
	case "nntp":
		return errNews
	case "rss":
		return errFeeds
	}
	return nil
}

// unclaimed returns a failure for each subdirectory of mailDir that no
// server claims and that holds mail (left by an account the person
// removed, keeping its mail); the others are reported to warn.
func unclaimed(mailDir string, claimed map[string]bool, warn func(string, error)) []failure {
	ents, _ := os.ReadDir(mailDir)
	var fails []failure
	for _, e := range ents {
		n, d := e.Name(), filepath.Join(mailDir, e.Name())
		switch {
		case !e.IsDir() || strings.HasPrefix(n, ".") || claimed[d]:
		case holdsMail(d):
			fails = append(fails, failure{ref: source.Ref{ID: n, Folder: nfc(n)}, err: source.Unreadable(
				"cannot read folder "+d+": no account of prefs.js uses this directory (left by a removed account?), "+
					"so its mail is not copied; to copy it, add thunderbird:"+d+" as a source of its own; "+
					"to leave it, add "+n+" to this source's exclude", nil)})
		default:
			warn(d, errStale)
		}
	}
	return fails
}

// holdsMail reports whether the tree at dir may hold mail: a file with
// bytes in it that is not one of Thunderbird's index or settings files.
// A tree that cannot be read may.
func holdsMail(dir string) bool {
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case p != dir && strings.HasPrefix(d.Name(), "."):
			if d.IsDir() {
				return filepath.SkipDir
			}
		case d.IsDir() || notMail(d.Name()):
		default:
			fi, err := d.Info()
			if err != nil || fi.Size() > 0 {
				found = true
				return filepath.SkipAll
			}
		}
		return nil
	})
	return found || err != nil
}

// scanMail returns every subdirectory of mailDir as an account, except
// hidden ones, those in skip and Feeds* ones (reported).
func scanMail(mailDir string, skip map[string]bool, warn func(string, error)) ([]*account, error) {
	ents, err := os.ReadDir(mailDir)
	if err != nil {
		return nil, err
	}
	var accts []*account
	for _, e := range ents {
		n, d := e.Name(), filepath.Join(mailDir, e.Name())
		switch {
		case !e.IsDir() || strings.HasPrefix(n, ".") || skip[d]:
		case strings.HasPrefix(n, "Feeds"):
			warn(d, errFeeds)
		default:
			accts = append(accts, &account{dir: d, local: n == "Local Folders"})
		}
	}
	return accts, nil
}

// arrange sets each account's key, name, primary and merged flags and
// sorts them: the primary first, then by key. Local Folders is merged.
func arrange(accts []*account, primaryServer string) []*account {
	keys := map[string]int{}
	for _, a := range accts {
		a.key = uniqueName(filepath.Base(a.dir), keys)
		a.maildir = a.maildir || hasMaildirFolder(a.dir)
	}
	choosePrimary(accts, primaryServer).primary = true
	slices.SortStableFunc(accts, func(a, b *account) int {
		if a.primary != b.primary { // the primary account first
			if a.primary {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	nameAccounts(accts)
	for _, a := range accts {
		a.merged = a.primary || a.local
	}
	return accts
}

// mergeAccounts merges the accounts that names names (by their name or
// their directory name; "*" for every one) into the top level. A name
// that no account has is an error naming the accounts there are.
func mergeAccounts(accts []*account, names []string) error {
	var have []string
	for _, a := range accts {
		have = append(have, fmt.Sprintf("%q (directory %s)", a.name, filepath.Base(a.dir)))
	}
	for _, n := range names {
		found := false
		for _, a := range accts {
			if n == "*" || n == a.name || n == a.key || n == filepath.Base(a.dir) {
				a.merged, found = true, true
			}
		}
		if !found {
			return fmt.Errorf("merge_accounts: no account %q in this profile (its accounts: %s)", n, strings.Join(have, ", "))
		}
	}
	return nil
}

// choosePrimary picks the account whose folders are the top level (see
// the package documentation).
func choosePrimary(accts []*account, primaryServer string) *account {
	var others []*account
	var local *account
	for _, a := range accts {
		if primaryServer != "" && a.server == primaryServer {
			return a
		}
		if a.local {
			local = cmp.Or(local, a)
		} else {
			others = append(others, a)
		}
	}
	switch {
	case len(others) == 1:
		return others[0]
	case local != nil:
		return local
	}
	return slices.MinFunc(accts, func(a, b *account) int { return strings.Compare(a.key, b.key) })
}

// nameAccounts sets the folder prefix of each account: its prefs.js name,
// else its directory name, '/' replaced, made unique.
func nameAccounts(accts []*account) {
	seen := map[string]int{}
	for _, a := range accts {
		n := strings.TrimSpace(strings.ReplaceAll(a.name, "/", "_"))
		if n == "" {
			n = a.key
		}
		if seen[n]++; seen[n] > 1 {
			n += " (" + a.key + ")"
		}
		a.name = n
	}
}

// uniqueName returns n, or n with "~2", "~3", ... when already used.
func uniqueName(n string, used map[string]int) string {
	used[n]++
	if used[n] == 1 {
		return n
	}
	return fmt.Sprintf("%s~%d", n, used[n])
}

// folder returns the folder path of a folder of the account.
func (a *account) folder(inner string) string {
	inner = nfc(inner)
	if a.merged {
		return inner
	}
	if inner == "" {
		return a.name
	}
	return a.name + "/" + inner
}

func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) &&
		!filepath.IsAbs(rel)
}

// startsWithFrom reports whether the file at p starts as an mbox does.
func startsWithFrom(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 5)
	n, _ := io.ReadFull(f, b)
	return string(b[:n]) == "From "
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func sortBy[T any](s []T, key func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
