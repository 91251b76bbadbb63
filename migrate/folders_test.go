package migrate

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/target"
)

func TestMapFolder(t *testing.T) {
	slash := target.Layout{Delimiter: "/", Special: map[string]string{`\Sent`: "Sent Messages"}, Folders: []string{"INBOX", "Sent Messages", "Papierkorb"}}
	courier := target.Layout{Delimiter: ".", Prefix: "INBOX.", Folders: []string{"INBOX", "INBOX.Trash"}}
	archive := target.Layout{Delimiter: "/", Special: map[string]string{`\Archive`: "Archive"}, Folders: []string{"INBOX", "Archive"}}
	withOld := target.Layout{Delimiter: "/", Folders: []string{"v1%2E2"}}
	withSub := target.Layout{Delimiter: "/", Folders: []string{"50％/x"}}
	cases := []struct {
		layout     target.Layout
		maps       []FolderMap
		base, path string
		want       string
	}{
		{slash, nil, "INBOX", "", "INBOX"},
		{slash, nil, "", "", "INBOX"},
		{slash, nil, "", "Inbox", "INBOX"},
		{slash, nil, "", "Inbox/Work", "INBOX/Work"},
		{courier, nil, "", "Inbox/Work", "INBOX.Work"},
		{slash, nil, "", "Projects/2024", "Projects/2024"},
		{slash, nil, "", "Envoyés", "Sent Messages"},                     // SPECIAL-USE wins
		{slash, nil, "", "Deleted Items", "Papierkorb"},                  // existing folder of the role
		{slash, nil, "", "Spam", "Junk"},                                 // English name
		{slash, nil, "", "Projects/Sent", "Projects/Sent"},               // roles only at the top
		{slash, nil, "", "Envoyés/2019/v1.2", "Sent Messages/2019/v1.2"}, // a role folder's subfolders under it
		{slash, nil, "", "Archives/2024", "Archives/2024"},               // no Archive folder: as it is
		{slash, nil, "", "Deleted Items/x", "Papierkorb/x"},
		{archive, nil, "", "Archives/2024", "Archive/2024"},
		{archive, nil, "", "Archives", "Archive"},
		{courier, nil, "", "Trash/Old", "INBOX.Trash.Old"},
		{slash, nil, "Archive/Old PC", "Work", "Archive/Old PC/Work"},
		{slash, nil, "", "a/b c /x", "a/b c /x"}, // its own name where the server takes it
		{slash, nil, "", "50%/x", "50%/x"},
		{slash, nil, "", "v1.2", "v1.2"},
		{withOld, nil, "", "v1.2", "v1%2E2"}, // an earlier version's name, kept
		{withSub, nil, "", "50%/x", "50％/x"}, // a substitute chosen by an earlier run
		{slash, nil, "", "cr\rlf\nnul\x00del\x7fend", "cr%0Dlf%0Anul%00del%7Fend"},
		{slash, nil, "", "caf\xe9/R\xc3\xa9sum\xc3\xa9\tx", "caf%E9/Résumé%09x"},
		{slash, nil, "md", "\r\n", "md/%0D%0A"},
		{slash, nil, "", `q"b\{5}*)`, `q"b\{5}*)`}, // quoting is the protocol layer's job
		{courier, nil, "", "Work/2024", "INBOX.Work.2024"},
		{courier, nil, "", "v1.2", "INBOX.v1．2"}, // the delimiter inside a name
		{courier, nil, "", "Trash", "INBOX.Trash"},
		{courier, nil, "", "Drafts", "INBOX.Drafts"},
		{courier, nil, "INBOX", "", "INBOX"},
		{slash, []FolderMap{{From: "Old/Stuff", To: "Archive/Stuff"}}, "", "Old/Stuff/x", "Archive/Stuff/x"},
		{slash, []FolderMap{{From: "Old", To: "INBOX"}}, "", "Old", "INBOX"},
	}
	for _, c := range cases {
		m := &folderMapper{layout: c.layout, maps: c.maps}
		if got := m.mapFolder(c.base, c.path); got != c.want {
			t.Errorf("mapFolder(%q, %q) with delimiter %q prefix %q = %q, want %q",
				c.base, c.path, c.layout.Delimiter, c.layout.Prefix, got, c.want)
		}
	}
}

// TestNamesStayApart checks that distinct source names get distinct own
// names and distinct substitutes, and that substitutes hold none of the
// characters servers refuse.
func TestNamesStayApart(t *testing.T) {
	names := []string{"plain", "a/b", "a.b", "a%b", "50%", " lead", "lead", "trail ", "trail", "%2F", "cr\r\n\x00",
		"caf\xe9 \xff", "caf\xe8", "Résumé", `q"b`, `q\b`, "star*", ""}
	for _, d := range []string{"/", "."} {
		own, sub := map[string]string{}, map[string]string{}
		for _, n := range names {
			o, s := ownName(n, d), substituteName(n, d)
			if prev, dup := own[o]; dup {
				t.Errorf("delimiter %q: %q and %q have the same own name %q", d, prev, n, o)
			}
			if prev, dup := sub[s]; dup {
				t.Errorf("delimiter %q: %q and %q have the same substitute %q", d, prev, n, s)
			}
			own[o], sub[s] = n, n
			if strings.Contains(o, d) {
				t.Errorf("ownName(%q, %q) = %q holds the delimiter", n, d, o)
			}
			if strings.ContainsAny(s, `%*"\./`) || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
				t.Errorf("substituteName(%q, %q) = %q holds a character servers refuse", n, d, s)
			}
		}
	}
}

func TestIncludeExclude(t *testing.T) {
	spec := &SourceSpec{Include: []string{"Inbox", "Projects/*"}, Exclude: []string{"Inbox/Spam*"}}
	cases := map[string]bool{
		"Inbox": true, "Inbox/Work": true, "Inbox/Spam": false, "Inbox/Spam/old": false,
		"Projects/A": true, "Projects/A/B": true, "Projects": false, "Trash": false, "": false,
	}
	for folder, want := range cases {
		if got := wanted(spec, folder); got != want {
			t.Errorf("wanted(%q) = %v, want %v", folder, got, want)
		}
	}
	if !wanted(&SourceSpec{}, "anything/at all") {
		t.Error("no patterns: a folder was left out")
	}
}
