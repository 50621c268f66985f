//go:build unix

package inference

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used, which a
// busy machine does not inflate the way it inflates wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
