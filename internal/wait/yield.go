package wait

// Yielding while waiting: the one place that chooses between
// runtime.Gosched and sched_yield(2), for every kind's wait loop.
//
// runtime.Gosched hands this goroutine's P to another goroutine of the same
// process, and first, when the process has an idle P, wakes an idle thread
// to look for work (runtime.goschedImpl calls wakep), which finds none and
// sleeps again: a futex wake and a thread to schedule per call. A waiter
// process with one goroutine has nothing to hand its P to; what its waiting
// should make room for is the other processes on its cores (the peer, the
// other readers), and sched_yield(2) does that. Four reader processes on
// two cores, paced at 20,000 messages/s: with Gosched, 137–183 thousand
// futex calls a second, a producer kept off the CPU, a median latency of
// 32–335 µs; with sched_yield, 5–11 thousand futex calls and 15–49 µs
// (BENCHMARKS.md section 6); MPMC 4P1C across processes went from
// 1.08–1.42 to 3.63–6.22 M msg/s (section 5.1). With no yield phase at all
// (adaptive spin, then sleep) those readers' median was 50–228 µs against
// 28–35 µs with it (ringbench broadcast --readers 4 --policy lossless, three
// interleaved runs on the shared 2-vCPU box).
//
// The price, measured when the SPSC waits (which used Gosched) joined this
// rule: a 64-byte SPSC ping-pong beside two busy-looping processes (ringbench
// run --size 64 --workloads pingpong, three interleaved pairs) had a p99.9
// of 1.8–4.0 ms with it against 0.13–1.65 ms with Gosched everywhere (the
// pipe's: 0.16–3.9 ms): a thread that yields to a busy stranger loses its
// place with the scheduler (Linux's EEVDF pushes a yielder's deadline back
// a slice), which Gosched, keeping the thread, does not.

import "runtime"

// yield gives up the core for a moment.
func yield() {
	if yieldsThread() {
		yieldThread()
	} else {
		runtime.Gosched()
	}
}
