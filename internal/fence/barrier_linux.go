package fence

import (
	"golang.org/x/sys/unix"
)

// membarrier(2) commands, from linux/membarrier.h.
const (
	cmdGlobalExpedited         = 1 << 1
	cmdRegisterGlobalExpedited = 1 << 2
)

func registerBarrier() error {
	_, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, cmdRegisterGlobalExpedited, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// Barrier forces a full memory barrier on every running thread of every
// process that called Register, including this one. It costs a system call
// and inter-processor interrupts: sleepers only.
func Barrier() error {
	_, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, cmdGlobalExpedited, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
