package nstest

import (
	"github.com/mailferry/mailferry/internal/testenv"

	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// EnvCache names the environment variable that holds the cache directory
// where .ci/servers unpacks the packages; DefaultCache is used when it is
// unset.
const (
	EnvCache     = "MAILFERRY_SERVERS"
	DefaultCache = "/var/cache/mailferry-servers"
)

// ErrUnavailable wraps every reason why these servers cannot run on this
// machine (not Linux, not root, packages not unpacked): Need skips a test
// for it unless CI=true.
var ErrUnavailable = errors.New("test servers unavailable")

// setupHint says how to get the packages.
const setupHint = "run `make test-servers` (or .ci/servers) as root once"

// CacheDir returns $MAILFERRY_SERVERS, or DefaultCache when it is unset.
func CacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	return DefaultCache
}

// Root returns CacheDir()/group/root after checking that the machine can
// run namespaced servers and that every file of files (absolute paths as the
// server sees them, e.g. "/usr/sbin/popa3d") exists in that root or on the
// host. The error wraps ErrUnavailable and says what to do.
func Root(group string, files ...string) (string, error) {
	if err := Available(); err != nil {
		return "", err
	}
	cache, err := filepath.Abs(CacheDir())
	if err != nil {
		return "", err
	}
	for _, d := range []string{"/usr", "/etc"} {
		if cache == d || strings.HasPrefix(cache, d+"/") {
			// overlayfs refuses a layer inside another layer of the same mount
			return "", fmt.Errorf("%w: %s=%s is under %s, which the servers overlay: choose another directory",
				ErrUnavailable, EnvCache, cache, d)
		}
	}
	root := filepath.Join(cache, group, "root")
	if _, err := os.Stat(filepath.Join(cache, group, "packages")); err != nil {
		return "", fmt.Errorf("%w: %s packages not unpacked in %s (%s; %s sets another directory)",
			ErrUnavailable, group, cache, setupHint, EnvCache)
	}
	for _, f := range files {
		if !exists(filepath.Join(root, f)) && !exists(f) {
			return "", fmt.Errorf("%w: %s is in neither %s nor the host (%s)", ErrUnavailable, f, root, setupHint)
		}
	}
	return root, nil
}

// Available checks what every namespaced server needs: Linux, root,
// nsenter, useradd. The error wraps ErrUnavailable.
func Available() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: needs Linux namespaces, this is %s", ErrUnavailable, runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root (mount namespaces, overlays, PAM)", ErrUnavailable)
	}
	for _, tool := range []string{"nsenter", "useradd"} {
		if _, err := lookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not found (Debian: util-linux, passwd)", ErrUnavailable, tool)
		}
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lookPath finds a program in PATH or in the sbin directories a normal
// user's PATH often lacks.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// Need does nothing when err is nil. Otherwise, when err wraps
// ErrUnavailable it skips the test, or fails it when the environment has
// CI=true; any other error fails the test. what names the server.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	testenv.NeedServers(t, what)
	switch {
	case err == nil:
	case errors.Is(err, ErrUnavailable) && os.Getenv("CI") != "true":
		t.Skipf("%s: skipping: %v", what, err)
	case errors.Is(err, ErrUnavailable):
		t.Fatalf("%s is required in CI: %v", what, err)
	default:
		t.Fatalf("%s: %v", what, err)
	}
}
