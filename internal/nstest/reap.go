package nstest

import (
	"path/filepath"
	"sync"

	"github.com/mailferry/mailferry/internal/harness"
)

var reapOnce sync.Once

// reapStale removes the instance directories that test processes left
// behind when they died before their cleanup. Their namespaces died with
// them (parent-death signal); an instance is stale when the process in its
// ns/owner.pid is gone. Best effort.
func reapStale() {
	harness.ReapStale([]string{filepath.Join("/tmp", dirPrefix+"*")},
		func(dir string) string { return filepath.Join(dir, "ns", "owner.pid") }, nil)
}
