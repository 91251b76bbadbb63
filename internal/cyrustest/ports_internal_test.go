package cyrustest

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/internal/nstest"
)

// TestBusyPortRetried: when another process holds a port the harness
// picked, the server logs "Address already in use" and Start tries again
// with fresh ports.
func TestBusyPortRetried(t *testing.T) {
	nstest.Need(t, "cyrustest", Available())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	calls := 0
	freePorts = func(n int) ([]int, error) {
		calls++
		ports, err := nstest.FreePorts(n)
		if calls == 1 && err == nil {
			ports[0] = busy
		}
		return ports, err
	}
	defer func() { freePorts = nstest.FreePorts }()
	start := time.Now()
	s := Start(t, Options{})
	t.Logf("Start with one busy port took %v", time.Since(start))
	if calls != 2 {
		t.Errorf("ports picked %d times, want 2", calls)
	}
	if s.IMAPAddr == "127.0.0.1:"+strconv.Itoa(busy) {
		t.Errorf("IMAPAddr = the busy port %s", s.IMAPAddr)
	}
	if !strings.Contains(s.Log(), "Address already in use") {
		t.Errorf("log does not tell of the busy port:\n%s", s.Log())
	}
}
