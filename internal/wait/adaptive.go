package wait

// The adaptive spin (Config.Adaptive; ring.DefaultWait's). A futex sleep
// costs a round trip of about 11 µs and two system calls; a spin costs a
// core for as long as it lasts. Which is cheaper depends on how long the
// peer takes to answer, so each handle keeps a running average of how long
// its waits took, and after the fixed Spin polls spins on for twice that:
//
//   - a stream of 64 KiB messages, whose every turn waits some 15 µs for
//     the peer's copy, spins through the turns instead of sleeping on each;
//   - waits that end within the Spin polls (a fast peer) pull the average
//     towards zero, and little is added to the spin;
//   - when the average exceeds spinCeiling the peer is slow or idle:
//     there is no spinning on and no yield phase, the waiter sleeps after
//     its Spin polls, and an idle ring costs no core;
//   - a spin that finds it lost its core (two clock readings 256 polls
//     apart, more than preemptGap apart) is on an oversubscribed machine,
//     where spinning only delays the peer it waits for and costs the
//     spinner its place with the scheduler (a task woken from a futex may
//     preempt a busy one; a task that spun must wait for its turn). It
//     stops, and the next waits do not spin on: 16 of them, then twice as
//     many after each loss in a row, up to 4096; each wait the spin
//     catches halves that again.
//
// The average is weighted 1/8 per wait, in nanoseconds, each wait counted
// at most 2×spinCeiling, so that an idle hour is forgotten after a few
// dozen waits. A wait is timed from the end of the Spin polls: the clock
// (about 30 ns) is never read by a wait that ends within them.
//
// A wait that slept is counted at most sleptCount, just past the ceiling:
// its length is the peer's time plus a futex wake-up (5–50 µs here), so it
// says only that the peer was not there within the spin. Counted whole,
// those wake-ups kept the average of a peer that answers in 20 µs above
// the ceiling for good once a few slow waits had put it there: a 64 KiB
// ping-pong then slept 1.5 times a round trip and took 60 µs instead of
// 20 µs. While the average is past the ceiling every exploreEvery-th wait
// spins the whole ceiling anyway: a peer that has become quick again is
// caught and the average comes down; an idle peer costs one spin of the
// ceiling per that many (long) waits.

import "time"

const (
	// spinCeiling bounds the adaptive spin. A spin that runs out its
	// budget adds the whole budget to a wait that then sleeps anyway, and
	// on two vCPUs it can hold the core the peer (or its runtime) needs:
	// with 100 µs the 64-byte ping-pong's p99 was 111-118 µs against 27-44
	// µs before the adaptive spin, with 30 µs 51-52 µs, the same as with no
	// spinning on at all (BENCHMARKS.md 10.3). 30 µs still covers a 64 KiB
	// turn (some 15 µs: twice that is the budget).
	spinCeiling = 30 * time.Microsecond
	// preemptGap: 256 polls take well under 2 µs on a core of one's own;
	// a gap this long between two clock readings means the spinner was
	// descheduled.
	preemptGap = 20 * time.Microsecond
	// minBackoff and maxBackoff bound how many waits do not spin on
	// after a spin lost its core.
	minBackoff = 16
	maxBackoff = 4096
	// sleptCount is the most a wait that slept adds to the average, and
	// exploreEvery how often a wait spins while the average is past the
	// ceiling (a power of two).
	sleptCount   = spinCeiling + time.Microsecond
	exploreEvery = 8
)

// Estimate is a handle's adaptive spin state, kept in the handle from one
// wait to the next (Loop.Estimate); its zero value is an estimate of nothing.
type Estimate struct {
	avg     int64  // running average of the wait lengths, ns
	backoff uint32 // waits left that do not spin on
	penalty uint32 // the next backoff's length
	long    uint32 // waits begun while the average was past the ceiling
}

// budget is how long to spin past the fixed polls, in ns: twice the
// average wait, at most the ceiling, or, when the average says the wait
// will be longer than that, nothing but on every exploreEvery-th wait.
func (s *Estimate) budget() int64 {
	if s.avg > int64(spinCeiling) {
		if s.long++; s.long%exploreEvery != 0 {
			return 0
		}
		return int64(spinCeiling)
	}
	return min(2*s.avg, int64(spinCeiling))
}

// slept adds a wait of d ns that ended after the spin (in the yield or the
// sleep phase): it says the peer took longer than the spin, not how much
// longer. One far longer than the ceiling (an idle peer) puts the average
// past the ceiling at once, so that an idle ring stops spinning after one
// wait rather than after the dozen a weighted step would take.
func (s *Estimate) slept(d int64) {
	if d > 4*int64(spinCeiling) {
		s.avg = max(s.avg, int64(sleptCount))
		return
	}
	s.learn(min(d, int64(sleptCount)))
}

// learn adds a wait of d ns to the average.
func (s *Estimate) learn(d int64) {
	d = min(d, 2*int64(spinCeiling))
	s.avg += (d - s.avg) / 8
}

// preempted: a spin lost its core. The next waits do not spin on, twice as
// many as after the previous loss (16 to 4096).
func (s *Estimate) preempted() {
	s.penalty = min(max(2*s.penalty, minBackoff), maxBackoff)
	s.backoff = s.penalty
}

// spun: a wait of d ns ended in the adaptive spin, which kept its core; the
// next loss backs off half as long.
func (s *Estimate) spun(d int64) {
	s.learn(d)
	s.penalty /= 2
}
