package wait

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// yieldsThread says that no goroutine of this process can be waiting for a
// P, so runtime.Gosched would only wake an idle thread: every goroutine,
// running or not, fits on a P of its own. Cheap (a count and GOMAXPROCS, no
// system call) and racy: a goroutine started just after waits at most for
// the yield phase, as it would for the spin phase before it.
func yieldsThread() bool {
	return runtime.NumGoroutine() <= runtime.GOMAXPROCS(0)
}

// yieldThread gives the core to another runnable thread of any process, if
// there is one (sched_yield(2)), keeping this goroutine's P. Syscall, not
// RawSyscall: the runtime knows the thread is in a system call, so a yield
// that lasts (another process runs) neither holds up a stop-the-world nor
// keeps the P from being handed off.
func yieldThread() {
	unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) // never fails on Linux
}
