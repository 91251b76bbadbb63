package source

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ArchiveOptions say how to open a local archive. Path is required; each
// kind reads the fields its ArchiveKind says it reads.
type ArchiveOptions struct {
	// Path is the archive: a file or a directory, as the kind takes it.
	Path string
	// IncludeDeleted lists messages marked deleted too, with the flag.
	IncludeDeleted bool
	// MergeAccounts names the accounts whose folders are merged into the
	// top level, for a kind with MergesAccounts (see thunderbird.Options).
	MergeAccounts []string
	// Warn, if not nil, is told about what is left out or kept in a
	// degraded form without losing mail.
	Warn func(path string, err error)
}

// An ArchiveKind is one kind of local archive, as its package registers
// it: the scheme of its URLs (mbox:PATH) and how to open one.
type ArchiveKind struct {
	// Name is the kind and the scheme of its URLs: "mbox" for mbox:PATH.
	Name string
	// Open opens the archive at opts.Path. It reads what is needed to
	// tell that the path is an archive of the kind, so that a wrong one
	// fails here rather than when it is listed.
	Open func(opts ArchiveOptions) (Source, error)
	// MergesAccounts says that the kind reads ArchiveOptions.MergeAccounts;
	// for the other kinds it is a mistake to set it.
	MergesAccounts bool
}

var registry struct {
	sync.RWMutex
	kinds map[string]ArchiveKind
}

// Register makes an archive kind known, by its name. Each kind's package
// calls it in its init function; importing source/all registers them all.
// Registering a name twice, or a kind without a name or Open, panics.
func Register(k ArchiveKind) {
	if k.Name == "" || k.Open == nil || strings.ContainsAny(k.Name, ":/") {
		panic(fmt.Sprintf("source.Register: kind %q needs a plain name and an Open", k.Name))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.kinds[k.Name]; dup {
		panic("source.Register: kind " + k.Name + " registered twice")
	}
	if registry.kinds == nil {
		registry.kinds = map[string]ArchiveKind{}
	}
	registry.kinds[k.Name] = k
}

// LookupArchive returns the registered kind of that name.
func LookupArchive(name string) (ArchiveKind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.kinds[name]
	return k, ok
}

// ArchiveKinds returns the names of the registered kinds, sorted.
func ArchiveKinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.kinds))
	for n := range registry.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseArchiveURL splits "kind:PATH" when kind is a registered archive
// kind and PATH is not empty; ok is false for anything else (a server
// URL such as pop3s://alice@host).
func ParseArchiveURL(u string) (kind, path string, ok bool) {
	kind, path, found := strings.Cut(u, ":")
	if !found || path == "" {
		return "", "", false
	}
	if _, known := LookupArchive(kind); !known {
		return "", "", false
	}
	return kind, path, true
}

// OpenArchive opens the archive at opts.Path as the kind of that name.
// An unknown kind is an error that lists the registered ones.
func OpenArchive(kind string, opts ArchiveOptions) (Source, error) {
	k, ok := LookupArchive(kind)
	if !ok {
		return nil, fmt.Errorf("unknown archive kind %q (known: %s)", kind, strings.Join(ArchiveKinds(), ", "))
	}
	if len(opts.MergeAccounts) > 0 && !k.MergesAccounts {
		return nil, fmt.Errorf("%s: merging accounts applies to %s only", kind, strings.Join(MergingKinds(), ", "))
	}
	return k.Open(opts)
}

// MergingKinds returns the names of the registered kinds that read
// ArchiveOptions.MergeAccounts, sorted.
func MergingKinds() []string {
	var names []string
	for _, n := range ArchiveKinds() {
		if k, _ := LookupArchive(n); k.MergesAccounts {
			names = append(names, n)
		}
	}
	return names
}
