//go:build linux

package main

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
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

// TestFixedRateRecordsEveryMessageDueInTheWindowOrSaysItFellBehind: a
// transport that keeps the rate has every message due in the window
// recorded, the last ones included; one that cannot (a millisecond a
// message at 10,000 a second) is not shown with the figures of the
// messages it managed: the cell fails with errBehindRate. It stopped at
// the first answer after the window's end and reported what it had, the
// messages due last (the latest) left out. (From a black-box auditor.)
func TestFixedRateRecordsEveryMessageDueInTheWindowOrSaysItFellBehind(t *testing.T) {
	cfg := shortConfig()
	cfg.rate, cfg.warmup, cfg.duration = 2000, 5*time.Millisecond, 100*time.Millisecond
	m, err := measure(watchdog(t), registry["chan"], fixedRate, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Due in [5 ms, 105 ms) at 2000 a second: messages 10 to 209.
	if n := m.rtt.TotalCount(); n != 200 {
		t.Errorf("%d round trips recorded, want the 200 due in the window", n)
	}
	cfg.rate = 10000
	cfg.wrap = onSend(func(uint64, []byte) int {
		time.Sleep(time.Millisecond)
		return 1
	})
	if _, err := measure(watchdog(t), registry["chan"], fixedRate, cfg); !errors.Is(err, errBehindRate) {
		t.Fatalf("a transport ten times slower than the rate = %v, want errBehindRate", err)
	}
}

// TestCountSaysWhatItMeasures: with --count, the method header says the
// messages are sent exactly, not after a warm-up, and how many a short
// stream measures, which is what the table's messages column shows.
func TestCountSaysWhatItMeasures(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"--count=50", "--transports=chan", "--workloads=throughput", "--reps=1", "--warmup=10s", "--fingerprint=false"}
	if code := execute(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "exactly 50 messages sent") || !strings.Contains(out, "then 49 are measured") || strings.Contains(out, "warm-up, then 50 messages") {
		t.Errorf("the method header does not say what --count measures:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\s*chan\s.*\b49\b`).MatchString(out) {
		t.Errorf("the table does not show the 49 messages measured:\n%s", out)
	}
}
