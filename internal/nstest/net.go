package nstest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mailferry/mailferry/internal/harness"
)

// FreePorts returns n distinct free TCP ports on 127.0.0.1. They are
// released before they are returned: a server that then fails to bind one
// (another process took it) should be started again with fresh ports (see
// StartOnFreePorts).
func FreePorts(n int) ([]int, error) { return harness.FreePorts(n) }

// Addr returns "127.0.0.1:port".
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// ErrExited is returned by WaitGreeting when the namespace ends meanwhile.
var ErrExited = errors.New("the server's namespace has ended")

// ErrAddrInUse is returned by WaitGreeting when the server logged that a
// port was taken (see FreePorts): start it again with other ports. It is
// harness.ErrAddrInUse.
var ErrAddrInUse = harness.ErrAddrInUse

// WaitGreeting waits until a connection to addr is greeted with a line
// starting with prefix ("* OK", "+OK"), the namespace ends, or deadline
// passes, or the server logs "Address already in use" (ErrAddrInUse). A
// greeting shows the server process is up, not only a socket.
func (n *NS) WaitGreeting(addr, prefix string, deadline time.Time) error {
	var last error
	for {
		if strings.Contains(n.currentLog(), "Address already in use") {
			return ErrAddrInUse
		}
		if !n.Running() {
			return ErrExited
		}
		line, err := greeting(addr, time.Until(deadline))
		if err == nil && strings.HasPrefix(line, prefix) {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("greeting %q, want one starting %q", line, prefix)
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("no greeting on %s: %w", addr, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func greeting(addr string, timeout time.Duration) (string, error) {
	// Short: a port some other program holds may accept and say nothing,
	// and the loop looks at the log between probes.
	timeout = max(min(timeout, time.Second), 100*time.Millisecond)
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
