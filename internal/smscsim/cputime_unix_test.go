//go:build unix

package smscsim_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used,
// so that a benchmark on a shared machine can report its cost per
// operation, which other processes' load does not change.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
