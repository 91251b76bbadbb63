package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"

	"github.com/mailferry/mailferry/migrate/batch"
)

// TestBatchExample reads configs/batch the way mailferry batch does, so
// that the example an IT department starts from cannot rot.
func TestBatchExample(t *testing.T) {
	dir := "../../configs/batch"
	c, err := readConfig(viper.New(), filepath.Join(dir, "base.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir == "" || c.MaxConnectionsPerServer <= 0 {
		t.Fatalf("state_dir %q, max_connections_per_server %d: the example should show both", c.StateDir, c.MaxConnectionsPerServer)
	}
	base, err := c.jobConfig()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "accounts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	accounts, err := batch.ReadAccounts(f)
	if err != nil {
		t.Fatal(err)
	}
	items, err := batch.Configs(base, accounts, batch.Options{StateDir: t.TempDir(), Parallel: 8,
		MaxPerServer: c.MaxConnectionsPerServer})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("%d accounts, want the example's 3", len(items))
	}
	for _, it := range items {
		if len(it.Config.Sources) != 1 || !strings.Contains(it.Config.Target.URL, "@mail.example.org") {
			t.Errorf("%s: target %q, %d sources", it.Account.Name(), it.Config.Target.URL, len(it.Config.Sources))
		}
	}
}

// TestSystemdExample checks that the service in configs/systemd runs a
// command mailferry has, with flags it knows and an example config that
// exists, and that the timer starts it.
func TestSystemdExample(t *testing.T) {
	dir := "../../configs/systemd"
	svc := unitKeys(t, filepath.Join(dir, "mailferry-backup.service"))
	if svc["Type"] != "oneshot" {
		t.Errorf("Type=%q, want oneshot (one run per timer tick)", svc["Type"])
	}
	args := strings.Fields(svc["ExecStart"])
	if len(args) < 2 || filepath.Base(args[0]) != "mailferry" {
		t.Fatalf("ExecStart=%q: want mailferry COMMAND ...", svc["ExecStart"])
	}
	root := newRootCommand(io.Discard, io.Discard)
	cmd, rest, err := root.Find(args[1:])
	if err != nil || cmd == root {
		t.Fatalf("ExecStart=%q: %q is not a mailferry command (%v)", svc["ExecStart"], args[1], err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("ExecStart=%q: %v", svc["ExecStart"], err)
	}
	cfg, err := cmd.Flags().GetString("config")
	if err != nil || cfg == "" {
		t.Fatalf("ExecStart=%q: no --config (%v)", svc["ExecStart"], err)
	}
	if _, err := os.Stat(filepath.Join("../../configs", filepath.Base(cfg))); err != nil {
		t.Errorf("ExecStart's --config %s is not an example in configs/: %v", cfg, err)
	}
	if q, _ := cmd.Flags().GetBool("quiet"); !q {
		t.Errorf("ExecStart=%q: a timer's run should be --quiet", svc["ExecStart"])
	}
	timer := unitKeys(t, filepath.Join(dir, "mailferry-backup.timer"))
	if timer["OnCalendar"] == "" || timer["WantedBy"] != "timers.target" {
		t.Errorf("timer: OnCalendar=%q WantedBy=%q", timer["OnCalendar"], timer["WantedBy"])
	}
}

// unitKeys reads the Key=Value lines of a systemd unit file (comments and
// section headers skipped; a key given twice keeps its last value).
func unitKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not Key=Value", path, line)
		}
		keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}
