//go:build linux

package main

import (
	"fmt"
	"io"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shmring/shmring/internal/report"
)

// figures are what the tables need of one repetition of a measurement.
type figures interface {
	rate() float64                 // messages per second; 0 if none
	hist() *hdrhistogram.Histogram // round-trip times; nil if none
}

// row is every repetition of one measurement, or why it was skipped
// (medium.ErrUnsupported, an engine not built in).
type row[M figures] struct {
	reps    []M
	skipped string
}

func (r *row[M]) ok() bool     { return r.skipped == "" && len(r.reps) > 0 }
func (r *row[M]) skip() string { return r.skipped }

// rates are the repetitions' rates; rate is their median, 0 without figures.
func (r *row[M]) rates() []float64 {
	var xs []float64
	for _, m := range r.reps {
		xs = append(xs, m.rate())
	}
	return xs
}

func (r *row[M]) rate() float64 {
	if !r.ok() {
		return 0
	}
	return report.SpreadOf(r.rates()).Median
}

// quantiles are the repetitions' q-th percentiles (0..100), in ns; p is
// their median, 0 without figures.
func (r *row[M]) quantiles(q float64) []float64 {
	var xs []float64
	for _, m := range r.reps {
		xs = append(xs, float64(m.hist().ValueAtQuantile(q)))
	}
	return xs
}

func (r *row[M]) p(q float64) float64 {
	if !r.ok() {
		return 0
	}
	return report.SpreadOf(r.quantiles(q)).Median
}

// merged is every repetition's histogram in one; mergedP its q-th
// percentile, 0 without figures.
func (r *row[M]) merged() *hdrhistogram.Histogram {
	var hs []*hdrhistogram.Histogram
	for _, m := range r.reps {
		hs = append(hs, m.hist())
	}
	return report.Merge(hs...)
}

func (r *row[M]) mergedP(q float64) float64 {
	if !r.ok() {
		return 0
	}
	return float64(r.merged().ValueAtQuantile(q))
}

// A cell is every repetition of one transport, workload and message size.
type cell struct {
	tr       transport
	workload workload
	size     int
	row[*measurement]
}

// percentiles is a table row: label, then h's q-th percentiles.
func percentiles(label string, h *hdrhistogram.Histogram, qs ...float64) []string {
	row := []string{label}
	for _, q := range qs {
		row = append(row, report.Dur(report.At(h, q)))
	}
	return row
}

// writeSkips says once each reason why cells were not measured.
func writeSkips[C interface{ skip() string }](w io.Writer, cells []C) {
	said := map[string]bool{}
	for _, c := range cells {
		if r := c.skip(); r != "" && !said[r] {
			said[r] = true
			fmt.Fprintf(w, "skipped: %s\n", r)
		}
	}
}
