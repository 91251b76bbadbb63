// Package testenv says whether a test may start an external server
// (Dovecot, Cyrus, Courier, popa3d).
//
// MAILFERRY_TEST_SERVERS=none (set by `make test-fast`) leaves them out: a
// test that needs one is skipped, and `make test-fast` lists it as skipped.
// With CI=true that setting is refused, so that CI cannot pass without them.
package testenv

import (
	"os"
	"testing"
)

// Env is the variable that leaves external servers out when "none".
const Env = "MAILFERRY_TEST_SERVERS"

// NeedServers skips t when external servers are left out; what names the
// server the test needs.
func NeedServers(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(Env) != "none" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %s=none is not allowed with CI=true", what, Env)
		return
	}
	t.Skipf("%s: external servers left out (%s=none)", what, Env)
}
