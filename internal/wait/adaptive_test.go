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
