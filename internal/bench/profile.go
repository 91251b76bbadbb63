package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// profileEnv names a directory: when set, BuildMailferry builds a
// mailferry that writes CPU profiles there (see profileHook).
const profileEnv = "MAILFERRY_BENCH_PROFILE"

// profileHook is a file added to package main of cmd/mailferry through
// `go build -overlay` (the command itself is unchanged): it profiles the
// process's CPU in segments of a few seconds, each written to its own
// file cpu-<pid>-<n>.pprof as soon as it ends, since the command exits
// through os.Exit and no deferred Stop would run. Only the last segment
// (at most segment long) is lost; read the rest together with
// `go tool pprof -top <binary> <dir>/cpu-<pid>-*.pprof`.
const profileHook = `package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

func init() {
	go func() {
		for n := 0; ; n++ {
			f, err := os.Create(fmt.Sprintf("%%s/cpu-%%d-%%03d.pprof", %q, os.Getpid(), n))
			if err != nil {
				return
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return
			}
			time.Sleep(%d * time.Second)
			pprof.StopCPUProfile()
			f.Close()
		}
	}()
}
`

// profileOverlay writes, when profileEnv is set, the hook and the
// overlay file that adds it to cmd/mailferry, and returns the -overlay
// argument; "" when profiling is off.
func profileOverlay(dir string) (string, error) {
	out := os.Getenv(profileEnv)
	if out == "" {
		return "", nil
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("%s: cannot find the source of package bench", profileEnv)
	}
	cmdDir := filepath.Join(filepath.Dir(self), "..", "..", "cmd", "mailferry")
	hook := filepath.Join(dir, "benchprofile.go")
	if err := os.WriteFile(hook, fmt.Appendf(nil, profileHook, out, 5), 0o644); err != nil {
		return "", err
	}
	ov, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(cmdDir, "zz_benchprofile.go"): hook},
	})
	if err != nil {
		return "", err
	}
	ovFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		return "", err
	}
	return "-overlay=" + ovFile, nil
}
