//go:build linux

package main

import (
	"testing"

	"github.com/shmring/shmring/internal/ringstat"
)

// TestALatencyBeyondTheLastBucketSaysSo: a percentile whose rank falls
// among the latencies beyond the file's last bucket (about 57 minutes) is
// shown as more than that bound, not as the next bound (it said
// p99=4.1e+03s for latencies of about 3,548 s). (From a black-box tester.)
func TestALatencyBeyondTheLastBucketSaysSo(t *testing.T) {
	l := &ringstat.Latency{Zero: 1, Over: 99}
	l.P50Ns, l.P99Ns, l.P999Ns, l.MaxNs = 4096e9, 4096e9, 4096e9, 4096e9 // as ringstat gives Over: the bound after the last
	got := latency(l)
	if want := "p50=>57.4min p99=>57.4min p99.9=>57.4min max=>57.4min n=100"; got != want {
		t.Errorf("latency = %q, want %q", got, want)
	}
	if got := nanos(2.5e9); got != "2.5s" {
		t.Errorf("nanos(2.5 s) = %q", got)
	}
}
