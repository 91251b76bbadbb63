package couriertest

import (
	"testing"

	"github.com/mailferry/mailferry/internal/nstest"
)

// TestBusyPortRetried: when another process holds a port the harness
// picked, the server logs "Address already in use" and Start tries again
// with fresh ports.
func TestBusyPortRetried(t *testing.T) {
	nstest.CheckBusyPortRetried(t, "couriertest", Available(), &freePorts, func() (nstest.Instance, string) {
		s := Start(t, Options{})
		return s, s.IMAPAddr
	})
}
