package ring

// Yielding while a broadcast reader waits.
//
// runtime.Gosched hands this goroutine's P to another goroutine of the same
// process, and first, when the process has an idle P, wakes an idle thread
// to look for work (runtime.goschedImpl calls wakep), which finds none and
// sleeps again: a futex wake and a thread to schedule per call. A reader
// process with one goroutine has nothing to hand its P to; what its waiting
// should make room for is the other processes on its cores (the producer,
// the other readers), and sched_yield(2) does that. Four reader processes
// on two cores, paced at 20,000 messages/s: with Gosched, 137–183 thousand
// futex calls a second, a producer kept off the CPU, a median latency of
// 32–335 µs; with sched_yield, 5–11 thousand futex calls (readers rarely
// get as far as sleeping) and 15–49 µs (BENCHMARKS.md section 6).

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
