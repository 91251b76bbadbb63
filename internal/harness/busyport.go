package harness

import (
	"net"
	"testing"
	"time"
)

// CheckBusyPortRetried is the test that a harness starts again with fresh
// ports when the server cannot bind one: it makes the first call of *pick
// (the harness's FreePorts) return, at index i, a port that a listener of
// the test holds, runs start (which starts the server and returns the
// address it serves at index i), and checks that the ports were picked
// twice and that the address is not the busy one. *pick is restored in
// t.Cleanup.
func CheckBusyPortRetried(t *testing.T, pick *func(int) ([]int, error), i int, start func() (addr string)) {
	t.Helper()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	orig, calls := *pick, 0
	*pick = func(n int) ([]int, error) {
		calls++
		ports, err := orig(n)
		if calls == 1 && err == nil {
			ports[i] = busy.Addr().(*net.TCPAddr).Port
		}
		return ports, err
	}
	t.Cleanup(func() { *pick = orig })
	begin := time.Now()
	addr := start()
	t.Logf("start with one busy port took %v", time.Since(begin))
	if addr == busy.Addr().String() {
		t.Errorf("address %d = %s, the busy port", i, addr)
	}
	if calls != 2 {
		t.Errorf("ports picked %d times, want 2", calls)
	}
}
