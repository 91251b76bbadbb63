package migrate

import (
	"testing"

	"github.com/mailferry/mailferry/target"
)

func TestFolderPlanner(t *testing.T) {
	layout := target.Layout{Delimiter: ".", Prefix: "INBOX.", Folders: []string{"INBOX", "INBOX.Old%2Ebox", "INBOX.Sent"},
		Special: map[string]string{`\Sent`: "INBOX.Sent"}}
	spec := &SourceSpec{Name: "maildir:/m", Exclude: []string{"Spam"}}
	p := NewFolderPlanner(layout, spec)
	for folder, want := range map[string]PlannedFolder{
		"":        {Target: "INBOX", Wanted: "INBOX", Exists: true},
		"Sent":    {Target: "INBOX.Sent", Wanted: "INBOX.Sent", Exists: true},
		"v1.2":    {Target: "INBOX.v1\uff0e2", Wanted: "INBOX.v1.2"},                  // the delimiter in a name
		"Old.box": {Target: "INBOX.Old%2Ebox", Wanted: "INBOX.Old.box", Exists: true}, // an earlier version's name
		"Spam":    {Target: "INBOX.Junk", Wanted: "INBOX.Junk", Excluded: true},
	} {
		if got := p.Plan(folder); got != want {
			t.Errorf("Plan(%q) = %+v, want %+v", folder, got, want)
		}
	}
}
