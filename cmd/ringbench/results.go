//go:build linux

package main

import (
	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shmring/shmring/internal/report"
)

// A cell is every repetition of one transport, workload and message size.
type cell struct {
	tr       transport
	workload workload
	size     int
	reps     []*measurement
	skipped  string // why it was not measured (medium.ErrUnsupported); "" if it was
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
	var hs []*hdrhistogram.Histogram
	for _, m := range c.reps {
		hs = append(hs, m.rtt)
	}
	return report.Merge(hs...)
}
