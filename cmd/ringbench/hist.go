//go:build linux

package main

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Round trips are recorded in nanoseconds from 1 ns to 10 s with three
// significant digits: a reported percentile is within 0.1% of the true one.
const (
	histMin    = 1
	histMax    = int64(10 * time.Second)
	histDigits = 3
)

func newRTTHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histDigits)
}

// recordRTT records d, clamped to the histogram's range, so a stall longer
// than 10 s still counts (as 10 s) instead of vanishing.
func recordRTT(h *hdrhistogram.Histogram, d time.Duration) {
	v := d.Nanoseconds()
	if v < histMin {
		v = histMin
	}
	if v > histMax {
		v = histMax
	}
	_ = h.RecordValue(v) // cannot fail: v is in range
}

// quantile returns the q-th percentile (0..100) as a duration.
func quantile(h *hdrhistogram.Histogram, q float64) time.Duration {
	return time.Duration(h.ValueAtQuantile(q))
}
