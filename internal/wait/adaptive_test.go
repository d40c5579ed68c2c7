package wait

import (
	"testing"
	"time"
)

// TestSpinEstimate: the adaptive spin's budget follows the waits it is fed,
// drops to nothing for waits past the ceiling, and a lost core backs the
// spin off for a doubling number of waits that a caught spin halves.
func TestSpinEstimate(t *testing.T) {
	feed := func(s *Estimate, d time.Duration, n int) {
		for range n {
			s.learn(int64(d))
		}
	}
	for _, c := range []struct {
		name     string
		wait     time.Duration
		min, max time.Duration
	}{
		{"waits within the fixed polls add nothing", 0, 0, 0},
		{"15 µs waits (a 64 KiB turn) give a spin of about 30 µs", 15 * time.Microsecond, 28 * time.Microsecond, 30 * time.Microsecond},
		{"waits near the ceiling spin up to it", 25 * time.Microsecond, spinCeiling, spinCeiling},
		{"waits past the ceiling (an idle peer) spin no more", time.Second, 0, 0},
	} {
		var s Estimate
		feed(&s, c.wait, 100)
		if b := time.Duration(s.budget()); b < c.min || b > c.max {
			t.Errorf("%s: budget %v, want %v..%v", c.name, b, c.min, c.max)
		}
	}

	var s Estimate
	feed(&s, time.Hour, 1000)
	feed(&s, 10*time.Microsecond, 40)
	if s.budget() == 0 {
		t.Errorf("after 40 short waits an idle hour still stops the spin (average %v)", time.Duration(s.avg))
	}

	var p Estimate
	for i, want := range []uint32{minBackoff, 2 * minBackoff, 4 * minBackoff} {
		p.preempted()
		if p.backoff != want {
			t.Fatalf("loss %d in a row: backoff %d waits, want %d", i+1, p.backoff, want)
		}
	}
	for range 20 {
		p.preempted()
	}
	if p.backoff != maxBackoff {
		t.Errorf("after many losses: backoff %d waits, want the cap %d", p.backoff, maxBackoff)
	}
	p.spun(0)
	p.preempted()
	if p.backoff != maxBackoff {
		t.Errorf("one caught spin between losses: backoff %d, want %d (halved, then doubled)", p.backoff, maxBackoff)
	}
	for range 20 {
		p.spun(0)
	}
	p.preempted()
	if p.backoff != minBackoff {
		t.Errorf("a loss after many caught spins: backoff %d, want %d", p.backoff, minBackoff)
	}
}

// TestSpinEstimateLeavesTheSleepingTrap: a peer that answers in 15 µs,
// after a stretch of slow waits put the average past the ceiling. Waits
// that sleep take the peer's time plus a wake-up (45 µs here); counted
// whole they kept the average past the ceiling for good, and every turn
// slept. Counted as just past the ceiling, with a spin of the ceiling on
// every exploreEvery-th wait, the spins catch the peer and the estimate
// comes back under the ceiling within a few dozen waits. An idle peer
// still sleeps at once on all but one wait in exploreEvery.
func TestSpinEstimateLeavesTheSleepingTrap(t *testing.T) {
	var s Estimate
	for range 100 {
		s.learn(int64(time.Second)) // slow waits: the average is at its cap
	}
	caughtAt := -1
	for i := range 200 {
		if b := s.budget(); b >= int64(15*time.Microsecond) {
			s.spun(int64(15 * time.Microsecond))
		} else {
			s.slept(int64(45 * time.Microsecond))
		}
		if s.avg <= int64(spinCeiling) {
			caughtAt = i
			break
		}
	}
	if caughtAt < 0 {
		t.Fatalf("after 200 waits of a 15 µs peer the average is %v, past the %v ceiling: every wait still sleeps", time.Duration(s.avg), spinCeiling)
	}
	t.Logf("back under the ceiling after %d waits", caughtAt+1)

	var idle Estimate
	spins := 0
	for range 8 * exploreEvery {
		if idle.budget() > 0 {
			spins++
		}
		idle.slept(int64(time.Second))
	}
	if spins < 7 || spins > 8 {
		t.Errorf("an idle peer: %d spins in %d waits, want one in %d", spins, 8*exploreEvery, exploreEvery)
	}
}
