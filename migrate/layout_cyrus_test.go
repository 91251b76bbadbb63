package migrate

import (
	"context"
	"slices"
	"testing"

	"github.com/mailferry/mailferry/internal/cyrustest"
	"github.com/mailferry/mailferry/target/imap"
)

// TestCyrusFolderNames creates folders in Cyrus IMAP 3.6 in both namespace
// modes: each under its own name where Cyrus takes it, else under its
// substitute (Cyrus refuses "%" and '"', and sends no [TRYCREATE] for a
// name it finds invalid), every substitute listed with Cyrus's reason, and
// a second run finds each folder where the first put it.
func TestCyrusFolderNames(t *testing.T) {
	for _, alt := range []bool{false, true} {
		t.Run(map[bool]string{false: "classic", true: "altnamespace"}[alt], func(t *testing.T) {
			srv := cyrustest.Start(t, cyrustest.Options{AltNamespace: alt})
			u := srv.Users[0]
			ctx := context.Background()
			tgt, err := imap.New(ctx, imap.Options{Addr: srv.IMAPAddr, TLS: imap.TLSNone, Username: u.Name, Password: u.Password})
			if err != nil {
				t.Fatal(err)
			}
			defer tgt.Close()
			l, err := tgt.Layout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p, d := srv.Prefix, srv.Separator
			want := map[string]string{ // source path -> target folder
				"Projets/Été 2025/Réunions": p + "Projets" + d + "Été 2025" + d + "Réunions",
				"50%":                       p + "50％",
				`quote"d`:                   p + "quote＂d",
				"v1.2":                      p + "v1．2",
			}
			if alt {
				want["v1.2"] = p + "v1.2" // "/" is the delimiter: Cyrus takes the dot
			}
			opts := Options{}
			opts.applyDefaults()
			names := newFolderResolver(tgt, &opts)
			m := &folderMapper{layout: l}
			for path, w := range want {
				if got, err := names.resolve(ctx, m, "", path); err != nil || got != w {
					t.Errorf("resolve(%q) = %q, %v; want %q", path, got, err, w)
				}
			}
			for _, s := range names.substitutes() {
				if s.Reason == "" {
					t.Errorf("substitute %+v without Cyrus's reason", s)
				}
			}
			folders := srv.Folders(t, u.Name)
			l, err = tgt.Layout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			m = &folderMapper{layout: l}
			for path, w := range want {
				if !slices.Contains(folders, w) {
					t.Errorf("Cyrus lists %q, want %q among them", folders, w)
				}
				if got := m.mapFolder("", path); got != w {
					t.Errorf("second run: mapFolder(%q) = %q, want %q", path, got, w)
				}
			}
		})
	}
}
