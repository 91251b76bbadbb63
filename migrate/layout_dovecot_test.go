package migrate

import (
	"context"
	"testing"

	"github.com/mailferry/mailferry/migrate/dovecottest"
	"github.com/mailferry/mailferry/target/imap"
)

// TestDovecotLayoutAndMapping reads the layout of Dovecot configured as
// most servers are ("/" and no prefix) and as Courier and old Cyrus are
// ("." under "INBOX."), and maps folders into both.
func TestDovecotLayoutAndMapping(t *testing.T) {
	cases := []struct {
		sep, prefix, sent string
		want              map[string]string // source path -> target folder
	}{
		{"/", "", "Sent", map[string]string{"Envoyés": "Sent", "Work/2024": "Work/2024", "Spam": "Junk", "v1.2": "v1%2E2"}},
		{".", "INBOX.", "INBOX.Sent", map[string]string{"Envoyés": "INBOX.Sent", "Work/2024": "INBOX.Work.2024",
			"Spam": "INBOX.Junk", "v1.2": "INBOX.v1%2E2"}},
	}
	for _, c := range cases {
		t.Run(c.sep, func(t *testing.T) {
			dc := dovecottest.Start(t, dovecottest.Options{Separator: c.sep, Prefix: c.prefix, SpecialUse: true})
			ctx := context.Background()
			tgt, err := imap.New(ctx, imap.Options{Addr: dc.IMAPAddr, TLS: imap.TLSNone, Username: "alice", Password: "alice-secret"})
			if err != nil {
				t.Fatal(err)
			}
			defer tgt.Close()
			if err := tgt.EnsureFolder(ctx, c.sent); err != nil {
				t.Fatal(err)
			}
			l, err := tgt.Layout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if l.Delimiter != c.sep || l.Prefix != c.prefix || l.Special[`\Sent`] != c.sent {
				t.Fatalf("Layout() = delimiter %q prefix %q sent %q, want %q %q %q", l.Delimiter, l.Prefix, l.Special[`\Sent`], c.sep, c.prefix, c.sent)
			}
			m := &folderMapper{layout: l}
			for path, want := range c.want {
				got := m.mapFolder("", path)
				if got != want {
					t.Errorf("mapFolder(%q) = %q, want %q", path, got, want)
					continue
				}
				if err := tgt.EnsureFolder(ctx, got); err != nil {
					t.Errorf("EnsureFolder(%q): %v", got, err)
				}
			}
			folders := dc.Folders(t, "alice")
			for _, want := range c.want {
				found := false
				for _, f := range folders {
					found = found || f == want
				}
				if !found {
					t.Errorf("Dovecot lists %v, want %q among them", folders, want)
				}
			}
		})
	}
}
