package main

import (
	"math"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
)

// coreFingerprint measures the round trip of one cache line between two
// goroutines that spin on it, as shared/limits/pingpong.c does between two
// pinned threads. A virtual machine's host may move its vCPUs between a near
// and a far placement, which changes every coherence-bound figure several
// times over; printing this before and after the run shows whether that
// happened. ok is false when fewer than two CPUs can run at once.
func coreFingerprint(d time.Duration) (rtt time.Duration, ok bool) {
	if runtime.GOMAXPROCS(0) < 2 || runtime.NumCPU() < 2 {
		return 0, false
	}
	const (
		batch = 256
		stop  = math.MaxUint64 // odd, but the responder checks for it first
	)
	// The word the two goroutines bounce, alone on its lines. The
	// initiator writes odd values, the responder answers with the next even one.
	type padded struct {
		_ [128]byte
		v atomic.Uint64
		_ [128]byte
	}
	line := new(padded)
	go func() {
		for {
			v := line.v.Load()
			if v == stop {
				return
			}
			if v&1 == 1 {
				line.v.Store(v + 1)
			}
		}
	}()
	defer line.v.Store(stop)

	var v uint64
	bounce := func(n int) {
		for range n {
			line.v.Store(v + 1)
			for line.v.Load() != v+2 {
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
