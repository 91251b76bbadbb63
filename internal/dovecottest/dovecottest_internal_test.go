package dovecottest

import (
	"net"
	"testing"
)

// TestStartRetriesBusyPort gives the first start a port that another
// listener holds: Dovecot fails to bind, and StartProcess tries again with
// fresh ports.
func TestStartRetriesBusyPort(t *testing.T) {
	Need(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if calls == 1 && err == nil {
			ports[2] = busy.Addr().(*net.TCPAddr).Port
		}
		return ports, err
	}
	defer func() { pickPorts = freePorts }()

	s, err := StartProcess(Options{})
	if err != nil {
		t.Fatalf("StartProcess() = %v, want a start on the second try", err)
	}
	defer s.Stop()
	if calls != 2 {
		t.Errorf("ports picked %d times, want 2", calls)
	}
	if s.POP3Addr == busy.Addr().String() {
		t.Errorf("POP3Addr = %s, the busy port", s.POP3Addr)
	}
}
