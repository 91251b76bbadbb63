package batch

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailferry/mailferry/migrate"
	"github.com/mailferry/mailferry/migrate/job"
)

// TestStateDirColumn: an account's state_dir puts its state file there,
// the others stay in Options.StateDir, and a state_dir that cannot be
// made fails its account alone.
func TestStateDirColumn(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "own", "deeper")
	csv := "source_url,target_user,target_password_env,state_dir\n" +
		"mbox:/a,a,P,\n" +
		"mbox:/b,b,P," + own + "\n" +
		"mbox:/c,c,P," + filepath.Join(blocker, "sub") + "\n"
	accounts, err := ReadAccounts(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{StateDir: filepath.Join(dir, "state"), Parallel: 3}
	items, err := Configs(base("imap://admin@127.0.0.1:1"), accounts, o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "state"), own, filepath.Join(blocker, "sub")}
	for i, it := range items {
		if got := filepath.Dir(it.Config.State); got != want[i] {
			t.Errorf("%s: state in %s, want %s", it.Account.Name(), got, want[i])
		}
	}
	ran := map[string]bool{}
	o.run = func(_ context.Context, c job.Config, _ *slog.Logger) (*migrate.Report, error) {
		ran[c.State] = true // Parallel runs: only read after Run
		return &migrate.Report{}, nil
	}
	o.Parallel = 1
	res := Run(t.Context(), items, o)
	for i, r := range res {
		if i == 2 {
			if r.Exit == ExitOK || !strings.Contains(r.Error, "state_dir") || ran[items[2].Config.State] {
				t.Errorf("c: %+v, want it failed on its state_dir, not run", r)
			}
			continue
		}
		if r.Exit != ExitOK || !ran[items[i].Config.State] {
			t.Errorf("%s: %+v, ran %v: want it run, its state_dir made", r.Account, r, ran[items[i].Config.State])
		}
	}
	if fi, err := os.Stat(own); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("own state_dir: %v %v, want a 0700 directory", fi, err)
	}
}
