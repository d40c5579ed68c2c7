package ring

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// pinEnv, when set to 1, pins the benchmarking goroutine of the parent to
// CPU 0 and the child's to CPU 1 (each locked to its OS thread), the
// placement the C probes in shared/limits use, so that ratios against them
// compare like with like.
const pinEnv = "SHMRING_BENCH_PIN"

// pin locks the calling goroutine to its thread and that thread to cpu, if
// pinning was asked for; it returns the undo.
func pin(cpu int) func() {
	if os.Getenv(pinEnv) != "1" {
		return func() {}
	}
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return func() {}
	}
	return func() {
		var all unix.CPUSet
		for i := range runtime.NumCPU() {
			all.Set(i)
		}
		unix.SchedSetaffinity(0, &all)
		runtime.UnlockOSThread()
	}
}
