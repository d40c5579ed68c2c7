//go:build linux

package main

import (
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// A cell is every repetition of one transport, workload and message size.
type cell struct {
	tr       transport
	workload workload
	size     int
	reps     []*measurement
	skipped  string // why it was not measured (errUnsupported); "" if it was
}

// ok says whether the cell has figures.
func (c *cell) ok() bool { return c != nil && c.skipped == "" && len(c.reps) > 0 }

// rates are the throughput repetitions' rates, in messages per second.
func (c *cell) rates() []float64 {
	var xs []float64
	for _, m := range c.reps {
		xs = append(xs, m.rate())
	}
	return xs
}

// quantiles are the latency repetitions' q-th percentiles (0..100), in ns.
func (c *cell) quantiles(q float64) []float64 {
	var xs []float64
	for _, m := range c.reps {
		xs = append(xs, float64(m.rtt.ValueAtQuantile(q)))
	}
	return xs
}

// merged is every latency repetition's histogram in one.
func (c *cell) merged() *hdrhistogram.Histogram {
	h := newRTTHistogram()
	for _, m := range c.reps {
		if m.rtt != nil {
			h.Merge(m.rtt)
		}
	}
	return h
}

// spread is a figure over repetitions: the median, and the range.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Median: med, Min: s[0], Max: s[len(s)-1]}
}

// latencyQuantiles are the percentiles every latency table and file shows.
var latencyQuantiles = []struct {
	q    float64
	name string
}{{0, "min"}, {50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}, {99.99, "p99.99"}, {100, "max"}}

// valueAt is h's q-th percentile, with 0 meaning the minimum and 100 the
// maximum.
func valueAt(h *hdrhistogram.Histogram, q float64) time.Duration {
	switch q {
	case 0:
		return time.Duration(h.Min())
	case 100:
		return time.Duration(h.Max())
	}
	return time.Duration(h.ValueAtQuantile(q))
}
