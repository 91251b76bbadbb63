package dovecottest

import (
	"testing"

	"github.com/mailferry/mailferry/internal/harness"
)

// TestStartRetriesBusyPort gives the first start a port that another
// listener holds: Dovecot fails to bind, and StartProcess tries again with
// fresh ports.
func TestStartRetriesBusyPort(t *testing.T) {
	Need(t)
	harness.CheckBusyPortRetried(t, &pickPorts, 2, func() string {
		s, err := StartProcess(Options{})
		if err != nil {
			t.Fatalf("StartProcess() = %v, want a start on the second try", err)
		}
		t.Cleanup(func() { s.Stop() })
		return s.POP3Addr
	})
}
