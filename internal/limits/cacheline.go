//go:build linux

package limits

import (
	"math"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
)

// CacheLineRTT measures the round trip of one cache line between two
// goroutines that spin on it (cacheline in csrc/limits.c does it between two
// threads in C). A virtual machine's host may move its vCPUs between a near
// and a far placement, which changes every coherence-bound figure several
// times over; printing this before and after the run shows whether that
// happened. ok is false when fewer than two CPUs can run at once.
func CacheLineRTT(d time.Duration) (rtt time.Duration, ok bool) {
	if runtime.GOMAXPROCS(0) < 2 || runtime.NumCPU() < 2 {
		return 0, false
	}
	const (
		batch = 256
		stop  = math.MaxUint64 // odd, but the responder checks for it first
		// Either side yields its P after this many fruitless polls (far
		// more than a round trip takes), so that two goroutines the
		// scheduler put on one P still get to answer each other, and the
		// scheduler gets the chance to move one to the other P.
		yieldEvery = 1<<16 - 1
	)
	// The word the two goroutines bounce, alone on its lines. The
	// initiator writes odd values, the responder answers with the next even one.
	type padded struct {
		_ [128]byte
		v atomic.Uint64
		_ [128]byte
	}
	line := new(padded)
	// The initiator blocks until the responder runs: its wake-up (ready,
	// then wakep) lets an idle P steal it, so the two spin on two Ps.
	// Spinning at once instead can leave both on one P, taking turns at
	// each 10 ms preemption (observed: "6.96 ms" round trips, seconds lost).
	started := make(chan struct{})
	go func() {
		close(started)
		for idle := 0; ; idle++ {
			v := line.v.Load()
			if v == stop {
				return
			}
			if v&1 == 1 {
				line.v.Store(v + 1)
				idle = 0
			}
			if idle&yieldEvery == yieldEvery {
				runtime.Gosched() // in case the initiator waits for this P
			}
		}
	}()
	defer line.v.Store(stop)
	<-started

	var v uint64
	bounce := func(n int) {
		for range n {
			line.v.Store(v + 1)
			for spins := 1; line.v.Load() != v+2; spins++ {
				if spins&yieldEvery == 0 {
					runtime.Gosched() // in case the responder waits for this P
				}
			}
			v += 2
		}
	}
	bounce(batch) // the responder is running once this returns
	var samples []time.Duration
	for deadline := time.Now().Add(d); len(samples) == 0 || time.Now().Before(deadline); {
		t0 := time.Now()
		bounce(batch)
		samples = append(samples, time.Since(t0)/batch)
	}
	slices.Sort(samples)
	return samples[len(samples)/2], true
}
