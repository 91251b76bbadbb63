// Package check tests the Kubernetes manifests of configs/kubernetes: each
// decodes strictly into its Kubernetes API type (an unknown or misspelt
// field fails), and the Job holds together with the other objects. A module
// of its own, so that the mailferry module does not depend on k8s.io.
package check

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decode reads a manifest strictly: unknown fields and duplicate keys fail,
// and the file must hold the kind and apiVersion given.
func decode(t *testing.T, name, apiVersion, kind string, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(b, apiVersion, kind, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

var typeRE = regexp.MustCompile(`(?m)^(apiVersion|kind): *(\S+)`)

func decodeStrict(b []byte, apiVersion, kind string, into any) error {
	if bytes.Contains(b, []byte("\n---")) {
		return errorf("one object per file")
	}
	got := map[string]string{}
	for _, m := range typeRE.FindAllSubmatch(b, -1) {
		got[string(m[1])] = string(m[2])
	}
	if got["apiVersion"] != apiVersion || got["kind"] != kind {
		return errorf("apiVersion %q kind %q, want %q %q", got["apiVersion"], got["kind"], apiVersion, kind)
	}
	// Kubernetes' own decoding: field names case-sensitive, unknown and
	// duplicate fields are errors (encoding/json, under
	// sigs.k8s.io/yaml.UnmarshalStrict, matches names case-insensitively).
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, into)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return errors.Join(strict...)
	}
	return nil
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// TestStrictRejectsUnknownField is the bite check of decodeStrict: a
// misspelt field of a valid Job fails.
func TestStrictRejectsUnknownField(t *testing.T) {
	b, err := os.ReadFile("../job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var j batchv1.Job
	if err := decodeStrict(b, "batch/v1", "Job", &j); err != nil {
		t.Fatalf("job.yaml: %v", err)
	}
	for _, bad := range []struct{ from, to string }{
		{"completionMode: Indexed", "completionMode: Indexed\n  completionsMode: Indexed"},
		{"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"},
		{"kind: Job", "kind: Jobs"},
		{"  parallelism: 4", "  parallelism: 4\n  parallelism: 4"},
	} {
		if !bytes.Contains(b, []byte(bad.from)) {
			t.Fatalf("job.yaml lacks %q", bad.from)
		}
		mod := bytes.Replace(b, []byte(bad.from), []byte(bad.to), 1)
		if err := decodeStrict(mod, "batch/v1", "Job", &batchv1.Job{}); err == nil {
			t.Errorf("%q decoded without error", bad.to)
		}
	}
}

func TestManifests(t *testing.T) {
	var (
		job    batchv1.Job
		cm     corev1.ConfigMap
		secret corev1.Secret
		pvc    corev1.PersistentVolumeClaim
	)
	decode(t, "job.yaml", "batch/v1", "Job", &job)
	decode(t, "configmap.yaml", "v1", "ConfigMap", &cm)
	decode(t, "secret.yaml", "v1", "Secret", &secret)
	decode(t, "pvc.yaml", "v1", "PersistentVolumeClaim", &pvc)

	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("completions %v parallelism %v: want both N", s.Completions, s.Parallelism)
	}
	if s.BackoffLimitPerIndex == nil && s.BackoffLimit == nil {
		t.Error("no backoffLimitPerIndex nor backoffLimit")
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]

	// The binary's contract: batch, --shard /N with N = completions.
	args := map[string]string{}
	if len(c.Args) == 0 || c.Args[0] != "batch" {
		t.Fatalf("args %q: want mailferry batch ...", c.Args)
	}
	for _, a := range c.Args[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(k, "--") {
			t.Fatalf("arg %q: want --flag=value", a)
		}
		args[k] = v
	}
	if want := "/" + strconv.Itoa(int(*s.Completions)); args["--shard"] != want {
		t.Errorf("--shard %q, want %q (completions %d)", args["--shard"], want, *s.Completions)
	}
	if len(c.Command) != 0 {
		t.Errorf("command %q overrides the image's ENTRYPOINT", c.Command)
	}
	mk, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^IMAGE \?= (\S+)$`).FindSubmatch(mk); m == nil || c.Image != string(m[1]) {
		t.Errorf("image %q, want the one `make image` builds (Makefile IMAGE ?= %s)", c.Image, m)
	}
	// The image runs the binary as its ENTRYPOINT, as the user the pod
	// runs as.
	cf, err := os.ReadFile("../Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nFROM scratch\n", "\nENTRYPOINT [\"/mailferry\"]\n",
		fmt.Sprintf("\nUSER %d:%d\n", ptrOr(pod.SecurityContext.RunAsUser), ptrOr(pod.SecurityContext.RunAsGroup))} {
		if !strings.Contains(string(cf), want) {
			t.Errorf("Containerfile lacks %q", strings.TrimSpace(want))
		}
	}

	// Security: non-root, read-only root, no capabilities, RuntimeDefault.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || sc == nil {
		t.Fatal("securityContext missing")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("the pod does not run as non-root")
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("seccompProfile is not RuntimeDefault")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the root filesystem is writable")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities %v, want drop ALL", sc.Capabilities)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceCPU} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}

	// Volumes: the objects they name exist, and the paths the accounts
	// file and base.yaml use are mounted.
	mounts := map[string]string{} // volume name -> mount path
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	var cfgDir, secretDir, stateDir string
	for _, v := range pod.Volumes {
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != cm.Name {
				t.Errorf("volume %s: ConfigMap %q, want %q", v.Name, v.ConfigMap.Name, cm.Name)
			}
			cfgDir = mounts[v.Name]
		case v.Secret != nil:
			if v.Secret.SecretName != secret.Name {
				t.Errorf("volume %s: Secret %q, want %q", v.Name, v.Secret.SecretName, secret.Name)
			}
			secretDir = mounts[v.Name]
			// Readable by the pod's group (fsGroup), by no one else.
			if m := v.Secret.DefaultMode; m == nil || *m != 0o440 || psc.FSGroup == nil {
				t.Errorf("volume %s: defaultMode %#o fsGroup %d, want 0440 and an fsGroup", v.Name, ptrOr32(m), ptrOr(psc.FSGroup))
			}
		case v.PersistentVolumeClaim != nil:
			if v.PersistentVolumeClaim.ClaimName != pvc.Name {
				t.Errorf("volume %s: claim %q, want %q", v.Name, v.PersistentVolumeClaim.ClaimName, pvc.Name)
			}
			stateDir = mounts[v.Name]
		}
		if _, ok := mounts[v.Name]; !ok {
			t.Errorf("volume %s is not mounted", v.Name)
		}
	}
	if cfgDir == "" || secretDir == "" || stateDir == "" {
		t.Fatalf("mounts: config %q, secrets %q, state %q", cfgDir, secretDir, stateDir)
	}
	for _, f := range []string{"--config", "--accounts"} {
		dir, key := filepath.Split(args[f])
		if filepath.Clean(dir) != cfgDir || cm.Data[key] == "" {
			t.Errorf("%s %q: not a key of ConfigMap %s mounted at %s", f, args[f], cm.Name, cfgDir)
		}
	}
	var base struct {
		StateDir string `json:"state_dir"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["base.yaml"]), &base); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base.StateDir, stateDir+"/") {
		t.Errorf("base.yaml state_dir %q is not on the claim mounted at %s", base.StateDir, stateDir)
	}
	// Every *_password_file of the accounts file is a key of the Secret.
	lines := strings.Split(strings.TrimSpace(cm.Data["accounts.csv"]), "\n")
	head := strings.Split(lines[0], ",")
	n := 0
	for _, line := range lines[1:] {
		cols := strings.Split(line, ",")
		for i, h := range head {
			if !strings.HasSuffix(h, "_password_file") {
				continue
			}
			n++
			dir, key := filepath.Split(cols[i])
			if filepath.Clean(dir) != secretDir {
				t.Errorf("%s %q is not in the Secret's mount %s", h, cols[i], secretDir)
			} else if _, ok := secret.StringData[key]; !ok {
				t.Errorf("%s %q: no key %q in Secret %s", h, cols[i], key, secret.Name)
			}
		}
	}
	if n == 0 {
		t.Error("accounts.csv names no password file")
	}
}

func ptrOr(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

func ptrOr32(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}
