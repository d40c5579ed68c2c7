//go:build linux

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shmring/shmring/internal/limits"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
)

// placementDrift is the before/after fingerprint ratio above which the report
// warns that the host moved the CPUs (near and far differ 3-5x here).
const placementDrift = 1.5

// disturbedFingerprint is a round trip no placement gives (the near one is
// about 100 ns here, the far one about 470 ns): the fingerprint's own two
// goroutines were descheduled, so it says nothing of the placement.
const disturbedFingerprint = 20 * time.Microsecond

// report is everything a run found.
type runReport struct {
	mach          report.Machine
	plan          plan
	args          []string      // the command line, for the JSON file
	before, after time.Duration // core-to-core fingerprints; 0 if not taken
	ceilings      limits.Set    // with --ceiling
	ceilingNote   string        // why the C probes did not run
	cells         []*cell
}

// cell finds the cell of one transport, workload and size; an empty one
// (no figures) if there is none.
func (r *runReport) cell(tr string, w workload, size msgSize) *cell {
	for _, c := range r.cells {
		if c.tr.name() == tr && c.workload == w && c.size == size {
			return c
		}
	}
	return &cell{}
}

func (r *runReport) has(w workload) bool { return slices.Contains(r.plan.workloads, w) }

// writePlacement prints the fingerprints taken before and after the runs
// (nothing where none was taken), and warns where they disagree.
func writePlacement(w io.Writer, before, after time.Duration) {
	if before <= 0 {
		return
	}
	fmt.Fprintf(w, "placement: core-to-core cache-line round trip %s before, %s after the runs (compare runs only when these agree)\n",
		report.Dur(before), report.Dur(after))
	hi, lo := max(before, after), min(before, after)
	switch {
	case hi > disturbedFingerprint:
		// Not a placement: a look at the two CPUs that lost one of them
		// (a black-box tester saw 4.79 ms called a move of the CPUs).
		fmt.Fprintf(w, "           WARNING: a fingerprint over %s means its probe was descheduled (other work on the CPUs), not a placement: the placement is unknown; run again on a quiet machine\n",
			report.Dur(disturbedFingerprint))
	case lo > 0 && float64(hi)/float64(lo) > placementDrift:
		fmt.Fprintf(w, "           WARNING: the host moved the CPUs during the run; coherence-bound figures (shmring, chan) may mix two placements: run again\n")
	}
}

// write prints the readable report: the header, then per size a
// throughput table, a round-trip table, a fixed-rate table, and the ratios.
func (r *runReport) write(w io.Writer) {
	p := r.plan
	fmt.Fprintf(w, "ringbench: messages between two processes (chan: two goroutines of one process)\n")
	fmt.Fprintf(w, "machine:   %s (both processes)\n", r.mach)
	writePlacement(w, r.before, r.after)
	pinning := "processes unpinned"
	if p.cfg.cpus[0] >= 0 {
		pinning = fmt.Sprintf("parent's loop pinned to CPU %d, peer's to CPU %d", p.cfg.cpus[0], p.cfg.cpus[1])
	}
	fmt.Fprintf(w, "method:    one message per send call and one per receive call on every transport, no batching;\n")
	if p.cfg.touch == touchEnds {
		fmt.Fprintf(w, "           --touch=ends: every message carries its sequence number in its first and last 8 bytes, the receiver checks those\n")
		fmt.Fprintf(w, "           alone and no other byte is written or read by either end (the transport's own cost);\n")
	} else {
		fmt.Fprintf(w, "           every message carries its sequence number and a pattern the receiver checks byte by byte (cost included);\n")
	}
	if p.cfg.count > 0 {
		// The receiver's window is the same as without --count (receiveAll):
		// it opens --warmup after the first message, or at the first in a
		// shorter stream, and times the arrivals after it.
		fmt.Fprintf(w, "           each test: throughput: exactly %d messages sent, timed by the receiver from the first to arrive\n"+
			"           %s after the first (or from the first, in a shorter stream: then %d are measured) to the last;\n"+
			"           latency: %s warm-up, then %s measured; %d repetition(s), interleaved; %s\n",
			p.cfg.count, p.cfg.warmup, p.cfg.count-1, p.cfg.warmup, p.cfg.duration, p.reps, pinning)
	} else {
		fmt.Fprintf(w, "           each test: %s warm-up, then %s measured; %d repetition(s), interleaved; %s\n", p.cfg.warmup, p.cfg.duration, p.reps, pinning)
	}
	fmt.Fprintf(w, "           throughput: parent sends, child receives and counts messages over its own measurement window\n")
	fmt.Fprintf(w, "           round trip: parent sends, child echoes; each round trip timed by the parent (HDR histogram, 3 digits)\n")
	if r.has(fixedRate) {
		fmt.Fprintf(w, "           fixed rate: a round trip due every %s (%.0f msg/s), timed from when it was DUE, not when it was sent\n",
			report.Dur(time.Duration(float64(time.Second)/p.cfg.rate)), p.cfg.rate)
	}
	r.writeCeilings(w)
	for _, size := range p.sizes {
		r.writeSize(w, size)
	}
	fmt.Fprintln(w)
	r.writeLegend(w)
	var notes []string
	for _, tr := range p.transports {
		rt, ok := tr.(ringTransport)
		if !ok {
			continue
		}
		last := func(w workload) *measurement {
			if c := r.cell(tr.name(), w, p.sizes[0]); c.ok() {
				return c.reps[len(c.reps)-1]
			}
			return nil
		}
		notes = append(notes, rt.notes(last(throughput), last(pingpong))...)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nring counters (%s messages, last repetition):\n", p.sizes[0])
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
}

// writeLegend describes each transport. A medium's parameters may follow
// the message size (a ring's slots, a channel's capacity, a queue's depth,
// each kept within --link-bytes): a transport whose description differs
// between the run's sizes gets one line per size, the rest one line.
func (r *runReport) writeLegend(w io.Writer) {
	p := r.plan
	for _, tr := range p.transports {
		var descs []string
		for _, size := range p.sizes {
			descs = append(descs, tr.describe(p.cfg.withSize(size)))
		}
		if len(slices.Compact(slices.Clone(descs))) == 1 {
			fmt.Fprintf(w, "%-17s %s\n", tr.name()+":", descs[0])
			continue
		}
		for i, size := range p.sizes {
			fmt.Fprintf(w, "%-17s %s\n", tr.name()+" ("+size.String()+"):", descs[i])
		}
	}
}

func (r *runReport) writeSize(w io.Writer, size msgSize) {
	fmt.Fprintf(w, "\n== %s messages ==\n", size)
	if size.mixed() {
		sh, _ := r.plan.cfg.withSize(size).shape()
		fmt.Fprintf(w, "each message's length drawn from its sequence number, log-uniform from %d to %d bytes (mean %d B); MB/s counts the bytes received\n",
			size.min, size.max, sh.mean())
	}
	if r.has(throughput) {
		fmt.Fprintf(w, "throughput (median of repetitions, and their range):\n")
		t := report.NewTable(w, "transport", "msgs/s", "min–max", "per msg", "MB/s", "messages")
		for _, tr := range r.plan.transports {
			c := r.cell(tr.name(), throughput, size)
			if !c.ok() {
				t.Row(tr.name(), "skipped") // every cell that ran has figures
				continue
			}
			s := report.SpreadOf(c.rates())
			var n uint64
			for _, m := range c.reps {
				n += m.measured
			}
			t.Row(tr.name(), report.Rate(s.Median), report.RateShort(s.Min)+"–"+report.RateShort(s.Max), report.PerMsg(s.Median),
				fmt.Sprintf("%.1f", c.byteRate()/1e6), fmt.Sprint(n))
		}
		t.Flush()
	}
	for _, wl := range []workload{pingpong, fixedRate} {
		if !r.has(wl) {
			continue
		}
		title := "round trip"
		if wl == fixedRate {
			title = fmt.Sprintf("fixed-rate round trip at %.0f msg/s, from the intended send time", r.plan.cfg.rate)
		}
		fmt.Fprintf(w, "%s (all repetitions merged; p50 range over repetitions):\n", title)
		head, qs := []string{"transport"}, []float64{}
		for _, q := range report.Quantiles {
			head, qs = append(head, q.Name), append(qs, q.Q)
		}
		t := report.NewTable(w, append(head, "p50 min–max", "round trips")...)
		for _, tr := range r.plan.transports {
			c := r.cell(tr.name(), wl, size)
			if !c.ok() {
				t.Row(tr.name(), "skipped") // every cell that ran has figures
				continue
			}
			h, s := c.merged(), report.SpreadOf(c.quantiles(50))
			t.Row(append(percentiles(tr.name(), h, qs...), report.Dur(time.Duration(s.Min))+"–"+report.Dur(time.Duration(s.Max)), fmt.Sprint(h.TotalCount()))...)
		}
		t.Flush()
	}
	for _, c := range r.cells {
		if c.size == size && c.skipped != "" {
			fmt.Fprintf(w, "skipped: %s\n", c.skipped)
		}
		if c.size == size {
			warnCell(w, c, r.plan.cfg)
		}
	}
	r.writeRatiosToCeilings(w, size)
	for _, other := range r.plan.transports[1:] {
		base := r.plan.transports[0].name()
		bt, ot := r.cell(base, throughput, size), r.cell(other.name(), throughput, size)
		bp, op := r.cell(base, pingpong, size), r.cell(other.name(), pingpong, size)
		// The round-trip table's percentiles: all repetitions merged.
		if parts := report.Compare("throughput", bt.rate(), ot.rate(), "RTT", bp.mergedP, op.mergedP); len(parts) > 0 {
			// The mark names a cell whose figure the line quotes: a
			// throughput left out (a rate of 0) is not what it rests on.
			var quoted []*cell
			if bt.rate() > 0 && ot.rate() > 0 {
				quoted = append(quoted, bt, ot)
			}
			if bp.mergedP(50) > 0 && op.mergedP(50) > 0 {
				quoted = append(quoted, bp, op)
			}
			fmt.Fprintf(w, "%s vs %s: %s%s\n", base, other.name(), strings.Join(parts, ", "), notMeasured(r.plan.cfg, quoted...))
		}
	}
}

// notes says whether the ends ever slept on the futex (a consumer that
// never did: the stream never ran dry long enough to).
func (t ringTransport) notes(tp, pp *measurement) []string {
	var out []string
	if tp != nil {
		out = append(out, fmt.Sprintf("%s throughput: child consumer %s (found the ring empty %d times, woke the producer %d times); parent producer found it full %d times and %s.",
			t.name(), slept(medium.Get(tp.peerCounters, "consumer.sleeps")), medium.Get(tp.peerCounters, "consumer.empty"), medium.Get(tp.peerCounters, "consumer.wakes"),
			medium.Get(tp.parentCounters, "producer.full"), slept(medium.Get(tp.parentCounters, "producer.sleeps"))))
	}
	if pp != nil {
		// The counters span the warm-up too: say so, beside the count the
		// round-trip table shows.
		out = append(out, fmt.Sprintf("%s round trip: in %d round trips incl. warm-up (%d recorded) the parent's consumer %s and the child's consumer %s.",
			t.name(), pp.roundTripsTotal, pp.roundTrips(), slept(medium.Get(pp.parentCounters, "consumer.sleeps")), slept(medium.Get(pp.peerCounters, "consumer.sleeps"))))
	}
	return out
}

func slept(n uint64) string {
	if n < 2 {
		return []string{"never slept", "slept once"}[n]
	}
	return fmt.Sprintf("slept %d times", n)
}
