//go:build linux

package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/shmring/shmring/internal/report"
)

// Figures that rest on too little: the warnings run and frames print
// under a cell, and the mark a ratio or comparison line quoting it gets.

// Below these a figure is a sample of a few events, not a measurement: a
// run of a microsecond, or --count 2, still prints a rate and a ratio.
// Large messages come few but slowly, so a throughput repetition is thin
// only where its messages are few and its window short too (200 frames of
// 8 MiB in 100 ms are a measurement; 500 messages in a millisecond, or 20
// of 64 MiB in a second, are not).
const (
	fewMessages   = 1000                  // measured by one throughput repetition...
	shortWindow   = 10 * time.Millisecond // ...in a window this short
	tooFew        = 30                    // measured by one throughput repetition, however long (a rate ±3 %)
	fewRoundTrips = 100                   // recorded, all repetitions merged
)

// lagged reports whether the peer's window of a throughput repetition
// spans less than half of what was sent for (the peer was descheduled).
func (m *measurement) lagged(cfg config) bool {
	return cfg.count == 0 && m.measured > 0 && m.elapsed < cfg.duration/2
}

// thin reports whether a throughput repetition rests on too few messages.
func (m *measurement) thin() bool { return thinCount(m.measured, m.elapsed) }

// thinCount: n messages measured over elapsed are too few for a rate (the
// thresholds above); compare judges a --json file's repetitions by it too.
func thinCount(n uint64, elapsed time.Duration) bool {
	return n < tooFew || n < fewMessages && elapsed < shortWindow
}

// warnCell prints the warnings a cell's figures need (run and frames
// alike): too few events, or a throughput window the peer lagged through.
func warnCell(w io.Writer, c *cell, cfg config) {
	warnFewSamples(w, c)
	if c.workload != throughput {
		return
	}
	for i, m := range c.reps {
		if m.lagged(cfg) {
			fmt.Fprintf(w, "WARNING: %s throughput repetition %d: the peer's measurement window spans only %s of the %s sent (the peer lagged, e.g. descheduled): that repetition's rate is unreliable\n",
				c.tr.name(), i+1, report.Dur(m.elapsed), cfg.duration)
		}
	}
}

// notMeasured is what a ratio line (frames) or a comparison line (run)
// says after its figures where a cell it uses rests on too few events, or
// on a window its peer lagged through ("" where none does): the warnings
// above say which.
func notMeasured(cfg config, cells ...*cell) string {
	for _, c := range cells {
		if fewSamples(c) {
			return fmt.Sprintf(" [not a measurement: %s %s rests on too few events, see the WARNING above]", c.tr.name(), c.workload)
		}
		if c.workload == throughput && slices.ContainsFunc(c.reps, func(m *measurement) bool { return m.lagged(cfg) }) {
			return fmt.Sprintf(" [unreliable: a repetition of %s %s was measured over a lagging window, see the WARNING above]", c.tr.name(), c.workload)
		}
	}
	return ""
}

// fewSamples reports whether a cell that ran rests on too few events for
// its figures to be a measurement (warnFewSamples says which).
func fewSamples(c *cell) bool {
	if !c.ok() {
		return false
	}
	if c.workload != throughput {
		return c.merged().TotalCount() < fewRoundTrips
	}
	for _, m := range c.reps {
		if m.thin() {
			return true
		}
	}
	return false
}

// warnFewSamples says so of a cell whose figures rest on too few events.
func warnFewSamples(w io.Writer, c *cell) {
	if c.workload == throughput {
		for i, m := range c.reps {
			if m.thin() {
				fmt.Fprintf(w, "WARNING: %s throughput repetition %d measured only %d messages in %s: its rate, and any ratio with it, is not a measurement (run longer)\n",
					c.tr.name(), i+1, m.measured, report.Dur(m.elapsed))
			}
		}
		return
	}
	if c.ok() {
		if n := c.merged().TotalCount(); n < fewRoundTrips {
			fmt.Fprintf(w, "WARNING: %s %s recorded only %d round trips: its percentiles, and any ratio with them, are not a measurement (run longer)\n",
				c.tr.name(), c.workload, n)
		}
	}
}
