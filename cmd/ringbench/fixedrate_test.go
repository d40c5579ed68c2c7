//go:build linux

package main

import (
	"testing"
	"time"
)

// TestFixedRateShowsAStallInTheTail injects one 50 ms stall into a run at
// 2000 messages per second. Timed from the intended send time, the stalled
// message and the ~100 that fell due during the stall all count late, so
// the stall reaches the high percentiles, not just the maximum. Nothing
// here depends on speed: every bound follows from the stall and the
// schedule (a sleep never returns early).
func TestFixedRateShowsAStallInTheTail(t *testing.T) {
	const stall = 50 * time.Millisecond
	cfg := shortConfig()
	cfg.rate, cfg.warmup, cfg.duration = 2000, 5*time.Millisecond, 100*time.Millisecond
	// A stall before message 20, due at 10 ms, after the warm-up, as a
	// transport that stalls (a page fault storm, a descheduled peer) would.
	cfg.wrap = onSend(func(seq uint64, _ []byte) int {
		if seq == 20 {
			time.Sleep(stall)
		}
		return 1
	})
	m, err := measure(watchdog(t), registry["chan"], fixedRate, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := m.rtt
	if max := time.Duration(h.Max()); max < stall {
		t.Errorf("max %v, want at least the %v stall", max, stall)
	}
	// Messages 21..100 fell due 10.5..50 ms into the run and could not be
	// sent before 60 ms: each is at least 10 ms late. That is at least 80
	// of at most ~200 recorded samples, so p99 (and p90) are that late.
	if p99 := time.Duration(h.ValueAtQuantile(99)); p99 < 10*time.Millisecond {
		t.Errorf("p99 %v, want at least 10ms: the messages due during the stall were not timed from their intended send", p99)
	}
	t.Logf("samples=%d p50=%v p90=%v p99=%v p99.9=%v max=%v", h.TotalCount(),
		time.Duration(h.ValueAtQuantile(50)), time.Duration(h.ValueAtQuantile(90)), time.Duration(h.ValueAtQuantile(99)),
		time.Duration(h.ValueAtQuantile(99.9)), time.Duration(h.Max()))
}
