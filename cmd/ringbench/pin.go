//go:build linux

package main

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// pinThread locks the calling goroutine to its OS thread and pins that
// thread to cpu (sched_setaffinity(2) on the thread alone), so the loop the
// goroutine runs next stays on that CPU. The returned function restores the
// thread's CPU set and unlocks it. cpu < 0 pins nothing.
func pinThread(cpu int) (unpin func(), err error) {
	if cpu < 0 {
		return func() {}, nil
	}
	runtime.LockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pin to CPU %d: sched_setaffinity: %w", cpu, err)
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old) // back to what it was: the thread returns to the pool
		runtime.UnlockOSThread()
	}, nil
}

// usableCPU says whether this process may run on cpu.
func usableCPU(cpu int) bool {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return false
	}
	return cpu >= 0 && cpu < 1024 && set.IsSet(cpu)
}
