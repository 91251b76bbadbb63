package sourcetest

import (
	"fmt"
	"syscall"
)

// nobody is the user whose file permissions Unprivileged applies.
const nobody = 65534

// dropFileRoot sets the calling thread's file-system user to nobody; the
// kernel then clears its CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH.
func dropFileRoot() error {
	syscall.RawSyscall(syscall.SYS_SETFSUID, nobody, 0, 0)
	// setfsuid returns the previous value whatever happens: ask again.
	if prev, _, _ := syscall.RawSyscall(syscall.SYS_SETFSUID, nobody, 0, 0); prev != nobody {
		return fmt.Errorf("setfsuid(%d) did not take (file-system uid %d)", nobody, prev)
	}
	return nil
}
