package migrate

import (
	"context"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/internal/dovecottest"
	"github.com/mailferry/mailferry/target/imap"
)

// TestDovecotLayoutAndMapping reads the layout of Dovecot configured as
// most servers are ("/" and no prefix) and as Courier and old Cyrus are
// ("." under "INBOX."), and maps and creates folders in both: each under
// its own name where Dovecot takes it, else under its substitute (Dovecot
// storing Maildir++ refuses "." in a name whatever its delimiter).
func TestDovecotLayoutAndMapping(t *testing.T) {
	cases := []struct {
		sep, prefix, sent string
		want              map[string]string // source path -> target folder
		subs              int               // folders under a substitute
	}{
		{"/", "", "Sent", map[string]string{"Envoyés": "Sent", "Work/2024": "Work/2024", "Spam": "Junk",
			"v1.2": "v1．2", "50%": "50%", "a/b c ": "a/b c "}, 1},
		{".", "INBOX.", "INBOX.Sent", map[string]string{"Envoyés": "INBOX.Sent", "Work/2024": "INBOX.Work.2024",
			"Spam": "INBOX.Junk", "v1.2": "INBOX.v1．2", "50%": "INBOX.50%"}, 1}, // "." is the delimiter: listed too
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
			opts := Options{}
			opts.applyDefaults()
			names := newFolderResolver(tgt, &opts)
			m := &folderMapper{layout: l}
			for path, want := range c.want {
				got, err := names.resolve(ctx, m, "", path)
				if err != nil || got != want {
					t.Errorf("resolve(%q) = %q, %v; want %q", path, got, err, want)
				}
			}
			if subs := names.substitutes(); len(subs) != c.subs {
				t.Errorf("substitutes = %+v, want %d", subs, c.subs)
			} else if c.subs > 0 && subs[0].Reason == "" {
				t.Errorf("substitute %+v without the server's reason", subs[0])
			}
			folders := dc.Folders(t, "alice")
			for _, want := range c.want {
				if !slices.Contains(folders, want) {
					t.Errorf("Dovecot lists %v, want %q among them", folders, want)
				}
			}
			// A second run finds each folder under the name the first chose.
			l, err = tgt.Layout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m = &folderMapper{layout: l}
			for path, want := range c.want {
				if got := m.mapFolder("", path); got != want {
					t.Errorf("second run: mapFolder(%q) = %q, want %q", path, got, want)
				}
			}
		})
	}
}
