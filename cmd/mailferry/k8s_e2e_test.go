package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mailferry/mailferry/internal/dovecottest"
)

// k8sJob is what TestDovecotK8sIndexedJob reads of configs/kubernetes/job.yaml.
type k8sJob struct {
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				Containers []struct {
					Args         []string `yaml:"args"`
					Env          []struct{ Name, Value string }
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// TestDovecotK8sIndexedJob runs configs/kubernetes as the cluster would,
// as local processes: the Job's container args and env, its N completions
// as N processes at once with JOB_COMPLETION_INDEX=0..N-1, the ConfigMap's
// base.yaml (the target's and sources' URLs and CA pointed at a private
// Dovecot) and its accounts file's columns, the volume mounts mapped to
// temporary directories, the passwords as files as the Secret gives them.
// Every account is copied exactly once over the N processes. Each
// process's peak RSS is logged (the Job's memory request comes from it).
func TestDovecotK8sIndexedJob(t *testing.T) {
	const accounts = 12
	var job k8sJob
	readYAML(t, "../../configs/kubernetes/job.yaml", &job)
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	readYAML(t, "../../configs/kubernetes/configmap.yaml", &cm)
	n := job.Spec.Completions
	if job.Spec.CompletionMode != "Indexed" || n < 2 || job.Spec.Parallelism != n {
		t.Fatalf("job.yaml: completionMode %q completions %d parallelism %d", job.Spec.CompletionMode, n, job.Spec.Parallelism)
	}
	if len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("job.yaml: want one container")
	}
	c := job.Spec.Template.Spec.Containers[0]

	// The pod's mounts, each a temporary directory.
	root := t.TempDir()
	mounts := map[string]string{} // mount path -> local directory
	for _, m := range c.VolumeMounts {
		local := filepath.Join(root, m.Name)
		os.MkdirAll(local, 0o700)
		mounts[m.MountPath] = local
	}
	local := func(p string) string {
		for mp, dir := range mounts {
			if rest, ok := strings.CutPrefix(p, mp+"/"); ok {
				return filepath.Join(dir, rest)
			}
		}
		return p
	}

	var users []dovecottest.User
	for i := 1; i <= accounts; i++ {
		users = append(users, dovecottest.User{Name: fmt.Sprintf("ks%d", i), Password: fmt.Sprintf("src-K8s-%d", i)},
			dovecottest.User{Name: fmt.Sprintf("kt%d", i), Password: fmt.Sprintf("tgt-K8s-%d", i)})
	}
	dc := dovecottest.Start(t, dovecottest.Options{Users: users})

	// base.yaml: the ConfigMap's, its servers replaced by the private Dovecot.
	var base map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["base.yaml"]), &base); err != nil {
		t.Fatal(err)
	}
	sd, _ := base["state_dir"].(string)
	if local(sd) == sd {
		t.Fatalf("base.yaml state_dir %q is on none of the pod's volumes", sd)
	}
	base["state_dir"] = local(sd)
	target, _ := base["target"].(map[string]any)
	sources, _ := base["sources"].([]any)
	if target == nil || len(sources) != 1 {
		t.Fatalf("base.yaml: target %v sources %v", target, sources)
	}
	target["url"], target["ca_file"] = "imaps://"+dc.IMAPSAddr, dc.CAFile
	sources[0].(map[string]any)["ca_file"] = dc.CAFile

	// accounts.csv: the ConfigMap's columns, a line per Dovecot account,
	// the passwords in the files the Secret's mount holds.
	rows, err := csv.NewReader(strings.NewReader(cm.Data["accounts.csv"])).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("accounts.csv: %v", err)
	}
	head, example := rows[0], rows[1]
	var list strings.Builder
	w := csv.NewWriter(&list)
	w.Write(head)
	for i := 1; i <= accounts; i++ {
		dc.Seed(t, fmt.Sprintf("ks%d", i), "INBOX", [][]byte{mail(fmt.Sprintf("<k%d@k8s.test>", i), "hi", "hello")})
		row := make([]string, len(head))
		for j, h := range head {
			switch h {
			case "source_url":
				row[j] = "pop3s://" + dc.POP3SAddr
			case "source_user":
				row[j] = fmt.Sprintf("ks%d", i)
			case "target_user":
				row[j] = fmt.Sprintf("kt%d", i)
			case "source_password_file", "target_password_file":
				side, pw := "src", fmt.Sprintf("src-K8s-%d", i)
				if h == "target_password_file" {
					side, pw = "tgt", fmt.Sprintf("tgt-K8s-%d", i)
				}
				// The example's directory: the Secret's mount.
				p := filepath.Join(filepath.Dir(example[j]), fmt.Sprintf("%s-%d", side, i))
				if local(p) == p {
					t.Fatalf("accounts.csv: %s %q is on none of the pod's volumes", h, example[j])
				}
				if err := os.WriteFile(local(p), []byte(pw), 0o440); err != nil {
					t.Fatal(err)
				}
				row[j] = local(p) // the pod's path, mapped
			default:
				row[j] = ""
			}
		}
		w.Write(row)
	}
	w.Flush()

	// The Job's files in the ConfigMap's mount; the args point at them.
	for key, body := range map[string][]byte{"base.yaml": mustYAML(t, base), "accounts.csv": []byte(list.String())} {
		var p string
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--accounts="); ok && key == "accounts.csv" {
				p = v
			} else if v, ok := strings.CutPrefix(a, "--config="); ok && key == "base.yaml" {
				p = v
			}
		}
		if p == "" || filepath.Base(p) != key || local(p) == p {
			t.Fatalf("job.yaml args %q: no %s on a mounted volume", c.Args, key)
		}
		os.WriteFile(local(p), body, 0o600)
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		if k, v, ok := strings.Cut(a, "="); ok {
			a = k + "=" + local(v)
		}
		args[i] = a
	}
	if args[0] != "batch" {
		t.Fatalf("job.yaml args %q: want batch first", c.Args)
	}
	var env []string
	for _, e := range c.Env {
		env = append(env, e.Name+"="+local(e.Value))
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes, outs, rss := make([]int, n), make([]string, n), make([]int64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe, args...)
			cmd.Env = append(append(os.Environ(), "MAILFERRY_TEST_AS_MAIN=1", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)), env...)
			out, _ := cmd.CombinedOutput()
			codes[i], outs[i] = cmd.ProcessState.ExitCode(), string(out)
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				rss[i] = ru.Maxrss // KiB on Linux
			}
		}()
	}
	wg.Wait()

	ran := map[string]string{}
	for i := range n {
		if codes[i] != exitOK {
			t.Fatalf("index %d: exit %d:\n%s", i, codes[i], outs[i])
		}
		t.Logf("index %d: peak RSS %.1f MiB", i, float64(rss[i])/1024)
		files, _ := filepath.Glob(filepath.Join(local(sd), fmt.Sprintf("batch-*-shard-%d-of-%d.csv", i, n)))
		if len(files) != 1 {
			t.Fatalf("index %d: results %v, want one in state_dir", i, files)
		}
		for acc, r := range readResults(t, files[0]) {
			if prev, dup := ran[acc]; dup {
				t.Errorf("%s ran in shards %s and %s", acc, prev, r["shard"])
			}
			ran[acc] = r["shard"]
			if r["exit"] != "0" || r["copied"] != "1" {
				t.Errorf("index %d: %s: %v", i, acc, r)
			}
		}
	}
	if len(ran) != accounts {
		t.Errorf("%d accounts ran, want %d: %v", len(ran), accounts, ran)
	}
	for i := 1; i <= accounts; i++ {
		if got := len(dc.Fetch(t, fmt.Sprintf("kt%d", i), "INBOX")); got != 1 {
			t.Errorf("kt%d: %d messages, want 1", i, got)
		}
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func mustYAML(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
