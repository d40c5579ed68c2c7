package ring

// Yielding while waiting: the one place that chooses between
// runtime.Gosched and sched_yield(2), for every kind's wait loop (the SPSC
// waits and the broadcast gate used to call Gosched, the MPMC handles and
// broadcast readers this).
//
// runtime.Gosched hands this goroutine's P to another goroutine of the same
// process, and first, when the process has an idle P, wakes an idle thread
// to look for work (runtime.goschedImpl calls wakep), which finds none and
// sleeps again: a futex wake and a thread to schedule per call. A waiter
// process with one goroutine has nothing to hand its P to; what its waiting
// should make room for is the other processes on its cores (the peer, the
// other readers), and sched_yield(2) does that. Four reader processes
// on two cores, paced at 20,000 messages/s: with Gosched, 137–183 thousand
// futex calls a second, a producer kept off the CPU, a median latency of
// 32–335 µs; with sched_yield, 5–11 thousand futex calls (readers rarely
// get as far as sleeping) and 15–49 µs (BENCHMARKS.md section 6).

import "runtime"

// yield gives up the core for a moment.
func yield() {
	if yieldsThread() {
		yieldThread()
	} else {
		runtime.Gosched()
	}
}
