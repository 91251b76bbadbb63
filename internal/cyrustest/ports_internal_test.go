package cyrustest

import (
	"strings"
	"testing"

	"github.com/mailferry/mailferry/internal/harness"
	"github.com/mailferry/mailferry/internal/nstest"
)

// TestBusyPortRetried: when another process holds a port the harness
// picked, the server logs "Address already in use" and Start tries again
// with fresh ports.
func TestBusyPortRetried(t *testing.T) {
	nstest.Need(t, "cyrustest", Available())
	var s *Server
	harness.CheckBusyPortRetried(t, &freePorts, 0, func() string {
		s = Start(t, Options{})
		return s.IMAPAddr
	})
	if !strings.Contains(s.Log(), "Address already in use") {
		t.Errorf("log does not tell of the busy port:\n%s", s.Log())
	}
}
