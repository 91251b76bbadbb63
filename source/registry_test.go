package source

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	opened := ""
	Register(ArchiveKind{Name: "testkind", Open: func(o ArchiveOptions) (Source, error) {
		opened = o.Path
		return nil, errors.New("opened")
	}})
	if !slices.Contains(ArchiveKinds(), "testkind") {
		t.Fatalf("ArchiveKinds() = %q, want testkind in it", ArchiveKinds())
	}
	for u, want := range map[string][2]string{
		"testkind:/a/b":  {"testkind", "/a/b"},
		"testkind:rel:x": {"testkind", "rel:x"},
		"testkind:":      {},
		"other:/a":       {},
		"pop3s://a@b":    {},
		"/plain/path":    {},
	} {
		kind, path, ok := ParseArchiveURL(u)
		if ok != (want[0] != "") || kind != want[0] || path != want[1] {
			t.Errorf("ParseArchiveURL(%q) = %q, %q, %v; want %q", u, kind, path, ok, want)
		}
	}
	if _, err := OpenArchive("testkind", ArchiveOptions{Path: "/x"}); err == nil || opened != "/x" {
		t.Fatalf("OpenArchive: err %v, opened %q", err, opened)
	}
	_, err := OpenArchive("nosuch", ArchiveOptions{Path: "/x"})
	if err == nil || !strings.Contains(err.Error(), `"nosuch"`) || !strings.Contains(err.Error(), "testkind") {
		t.Fatalf("OpenArchive of an unknown kind: %v, want an error naming it and the known kinds", err)
	}
	opened = ""
	_, err = OpenArchive("testkind", ArchiveOptions{Path: "/y", MergeAccounts: []string{"*"}})
	if err == nil || opened != "" {
		t.Fatalf("MergeAccounts for a kind that does not merge: err %v, opened %q", err, opened)
	}
	for _, bad := range []ArchiveKind{{Name: "testkind", Open: nil}, {Name: "", Open: func(ArchiveOptions) (Source, error) { return nil, nil }},
		{Name: "testkind", Open: func(ArchiveOptions) (Source, error) { return nil, nil }}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", bad.Name)
				}
			}()
			Register(bad)
		}()
	}
}
