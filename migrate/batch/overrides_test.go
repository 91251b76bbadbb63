package batch

import (
	"errors"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
)

// TestSettingsColumns: columns the setting func takes become each
// account's Overrides (empty cells left out), its error refuses the
// file, and Configs builds an account with Overrides from Options.Base.
func TestSettingsColumns(t *testing.T) {
	csv := "source_url,target_user,target_password_env,dedup,target.connections\n" +
		"mbox:/a,a,P,folder,\n" +
		"mbox:/b,b,P,,3\n" +
		"mbox:/c,c,P,,\n"
	if _, err := ReadAccounts(strings.NewReader(csv)); err == nil || !strings.Contains(err.Error(), `"dedup"`) {
		t.Fatalf("ReadAccounts: %v, want dedup an unknown column", err)
	}
	refuse := errors.New("column target.connections: no")
	_, err := ReadAccountsWith(strings.NewReader(csv), func(c string) error {
		if c == "target.connections" {
			return refuse
		}
		return nil
	})
	if !errors.Is(err, refuse) {
		t.Fatalf("refused column: %v", err)
	}
	accounts, err := ReadAccountsWith(strings.NewReader(csv), func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{{"dedup": "folder"}, {"target.connections": "3"}, nil}
	for i, a := range accounts {
		if len(a.Overrides) != len(want[i]) {
			t.Errorf("%s: overrides %v, want %v", a.Name(), a.Overrides, want[i])
		}
		for k, v := range want[i] {
			if a.Overrides[k] != v {
				t.Errorf("%s: overrides %v, want %v", a.Name(), a.Overrides, want[i])
			}
		}
	}
	o := Options{StateDir: t.TempDir(), Parallel: 1}
	if _, err := Configs(base("imap://admin@127.0.0.1:1"), accounts, o); err == nil {
		t.Error("Configs without Base took settings columns")
	}
	o.Base = func(a Account) (job.Config, error) {
		c := base("imap://admin@127.0.0.1:1")
		if a.Overrides["dedup"] != "" {
			c.Dedup = migrate.Dedup(a.Overrides["dedup"])
		}
		return c, nil
	}
	items, err := Configs(base("imap://admin@127.0.0.1:1"), accounts, o)
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Config.Dedup != migrate.DedupFolder || items[2].Config.Dedup == migrate.DedupFolder {
		t.Errorf("dedup %q, %q: want folder for a only", items[0].Config.Dedup, items[2].Config.Dedup)
	}
	o.Base = func(Account) (job.Config, error) { return job.Config{}, errors.New("bad setting") }
	if _, err := Configs(base("imap://admin@127.0.0.1:1"), accounts, o); err == nil ||
		!strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "bad setting") {
		t.Errorf("Base error: %v, want it on line 2", err)
	}
}
