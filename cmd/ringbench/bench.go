//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/schollz/progressbar/v3"
	"github.com/shmring/shmring/internal/limits"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"golang.org/x/term"
)

// fingerprintTime is how long the placement's fingerprint, the
// cache-line round trip, is measured before and after a run.
const fingerprintTime = 100 * time.Millisecond

// plan is a whole run: every transport, workload and size, repeated.
type plan struct {
	cfg         config // every setting but the size
	sizes       []msgSize
	reps        int
	transports  []transport
	workloads   []workload
	fingerprint bool
	ceiling     bool // measure this machine's ceilings first (internal/limits)
}

// steps is the number of measurements the plan makes.
func (p plan) steps() int { return p.reps * len(p.sizes) * len(p.transports) * len(p.workloads) }

// progress hears about each measurement as it starts.
type progress interface {
	step(desc string)
	done()
}

// bench runs the plan and stops at the first failure. The repetitions are
// the outer loop: a change of placement by the host during the run then
// spreads over all transports instead of favouring some.
func bench(ctx context.Context, p plan, prog progress) (*runReport, error) {
	defer prog.done()
	rep := &runReport{mach: report.Describe(), plan: p}
	if p.ceiling {
		prog.step("this machine's ceilings (ringbench limits)")
		var err error
		if rep.ceilings, rep.ceilingNote, err = limits.Measure(ctx, ceilingTime, true); err != nil {
			return nil, fmt.Errorf("ceilings: %w", err)
		}
	}
	if p.fingerprint {
		rep.before, _ = limits.CacheLineRTT(fingerprintTime)
	}
	for _, size := range p.sizes {
		for _, tr := range p.transports {
			for _, w := range p.workloads {
				rep.cells = append(rep.cells, &cell{tr: tr, workload: w, size: size})
			}
		}
	}
	for r := range p.reps {
		for _, c := range rep.cells {
			prog.step(fmt.Sprintf("rep %d/%d: %s %s %s", r+1, p.reps, c.tr.name(), c.workload, c.size))
			if c.skipped != "" {
				continue
			}
			m, err := measure(ctx, c.tr, c.workload, p.cfg.withSize(c.size))
			if errors.Is(err, medium.ErrUnsupported) || errors.Is(err, errBehindRate) {
				c.skipped = err.Error()
				continue
			}
			if err != nil {
				return nil, err
			}
			c.reps = append(c.reps, m)
		}
	}
	if p.fingerprint && rep.before > 0 {
		rep.after, _ = limits.CacheLineRTT(fingerprintTime)
	}
	return rep, nil
}

// newProgress shows progress on stderr: a bar on a terminal for a run of
// more than about 2 s (a child starts in ~10 ms), otherwise one line per
// measurement (which a log keeps readable).
func newProgress(stderr io.Writer, p plan) progress {
	estimate := time.Duration(p.steps()) * (p.cfg.warmup + p.cfg.duration + 20*time.Millisecond)
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && estimate > 2*time.Second {
		return &barProgress{bar: progressbar.NewOptions(p.steps(),
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("ringbench"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
		)}
	}
	return lineProgress{stderr}
}

type lineProgress struct{ w io.Writer }

func (l lineProgress) step(desc string) { fmt.Fprintf(l.w, "ringbench: measuring %s ...\n", desc) }
func (lineProgress) done()              {}

type barProgress struct {
	bar     *progressbar.ProgressBar
	started bool
}

func (b *barProgress) step(desc string) {
	if b.started {
		_ = b.bar.Add(1)
	}
	b.started = true
	b.bar.Describe(desc)
}

func (b *barProgress) done() {
	_ = b.bar.Finish()
	_ = b.bar.Clear()
}

// figures are what the tables need of one repetition of a measurement.
type figures interface {
	rate() float64                 // messages per second; 0 if none
	hist() *hdrhistogram.Histogram // round-trip times; nil if none
}

// row is every repetition of one measurement, or why it was skipped.
type row[M figures] struct {
	reps    []M
	skipped string
}

func (r *row[M]) ok() bool { return r.skipped == "" && len(r.reps) > 0 }

// rates are the repetitions' rates (messages per second); rate is their
// median, 0 without figures.
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

// quantiles are the repetitions' q-th percentiles in ns (the tables'
// spread column; their figures are mergedP's).
func (r *row[M]) quantiles(q float64) []float64 {
	var xs []float64
	for _, m := range r.reps {
		xs = append(xs, float64(m.hist().ValueAtQuantile(q)))
	}
	return xs
}

// merged is every repetition's histogram in one; mergedP its percentile.
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
	size     msgSize
	row[*measurement]
}

// byteRates are the repetitions' throughputs in bytes per second.
func (c *cell) byteRates() []float64 {
	var xs []float64
	for _, m := range c.reps {
		xs = append(xs, m.byteRate())
	}
	return xs
}

// byteRate is their median, 0 without figures.
func (c *cell) byteRate() float64 {
	if !c.ok() {
		return 0
	}
	return report.SpreadOf(c.byteRates()).Median
}

// percentiles is a table row: label, then h's q-th percentiles.
func percentiles(label string, h *hdrhistogram.Histogram, qs ...float64) []string {
	row := []string{label}
	for _, q := range qs {
		row = append(row, report.Dur(report.At(h, q)))
	}
	return row
}
