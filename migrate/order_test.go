package migrate

import (
	"slices"
	"testing"
)

func TestReadingOrderArchivesFirst(t *testing.T) {
	specs := []SourceSpec{
		{Name: "pop3s://a@one:995"},
		{Name: "mbox:/home/a/Mail", Archive: true},
		{Name: "pop3s://a@two:995"},
		{Name: "maildir:/home/a/Maildir", Archive: true},
	}
	m := &Migrator{Sources: specs}
	var got []string
	for _, s := range m.inReadingOrder().Sources {
		got = append(got, s.Name)
	}
	want := []string{"mbox:/home/a/Mail", "maildir:/home/a/Maildir", "pop3s://a@one:995", "pop3s://a@two:995"}
	if !slices.Equal(got, want) {
		t.Fatalf("reading order %q, want %q", got, want)
	}
	if m.Sources[0].Name != "pop3s://a@one:995" {
		t.Fatalf("the Migrator's own Sources were reordered: %q first", m.Sources[0].Name)
	}
}
