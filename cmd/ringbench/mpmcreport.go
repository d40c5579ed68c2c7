//go:build linux

package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/shmring/shmring/internal/report"
)

// The mpmc subcommand's tables.

// cell finds the cell of one shape, medium, kind and workload; an empty
// one if none.
func (r *mpReport) cell(s mpShape, medium, kind, workload string) *mpCell {
	for _, c := range r.cells {
		if c.shape == s && c.job.medium == medium && c.job.kind == kind && c.job.workload == workload {
			return c
		}
	}
	return &mpCell{}
}

// rowsOf are the cells of one shape and workload, in the plan's order.
func (r *mpReport) rowsOf(s mpShape, baseline bool, workload string) []*mpCell {
	var out []*mpCell
	for _, c := range r.cells {
		if c.shape == s && (c.job.kind == "spsc") == baseline && c.job.workload == workload {
			out = append(out, c)
		}
	}
	return out
}

func (r *mpReport) write(w io.Writer) {
	p := r.plan
	fmt.Fprintf(w, "ringbench mpmc: %s rings with several producers and consumers, beside a shared Go channel and an SPSC ring\n", p.kind)
	fmt.Fprintf(w, "machine:   %s (every process)\n", r.mach)
	fmt.Fprintf(w, "method:    one message per send call and per receive call (copying Send/Recv; channel: copy in, copy out), no batching;\n")
	fmt.Fprintf(w, "           every message carries its producer, that producer's sequence number and a CRC-32C; consumers check each\n")
	fmt.Fprintf(w, "           checksum and each producer's order, the parent checks exactly-once by per-producer count, last number and digest\n")
	fmt.Fprintf(w, "           throughput: producers send for %s; rate = messages received by all consumers / (first message to end of stream)\n", p.duration)
	fmt.Fprintf(w, "           round trip: each client keeps one request outstanding for %s after %s unrecorded; any client takes any reply\n", p.duration, p.warmup)
	fmt.Fprintf(w, "           and records now − the send time embedded in it (time.Now().UnixNano(), one clock for every process; HDR, 3 digits)\n")
	fmt.Fprintf(w, "           %d repetition(s), interleaved; %d ring slots, channel capacity %d; processes unpinned\n", p.reps, p.slots, p.slots)
	for _, s := range p.shapes {
		fmt.Fprintf(w, "\n== %s: %d producer(s) × %d consumer(s), %d-byte messages ==\n", s, s.p, s.c, p.size)
		r.writeTables(w, s, false)
		r.writeRatios(w, s)
	}
	fmt.Fprintf(w, "\n== baseline: spsc ring 1P1C across 2 processes, %d-byte messages ==\n", p.size)
	r.writeTables(w, baselineShape, true)
	r.writeWarnings(w)
}

func (r *mpReport) writeTables(w io.Writer, s mpShape, baseline bool) {
	fmt.Fprintf(w, "throughput (median of repetitions, and their range):\n")
	t := report.NewTable(w, "medium", "msgs/s", "min–max", "per msg", "messages")
	for _, c := range r.rowsOf(s, baseline, mpThroughput) {
		sp := report.SpreadOf(c.rates())
		var n uint64
		for _, o := range c.reps {
			n += o.received
		}
		t.Row(c.label, report.Rate(sp.Median), report.RateShort(sp.Min)+"–"+report.RateShort(sp.Max), report.PerMsg(sp.Median), fmt.Sprint(n))
	}
	t.Flush()
	fmt.Fprintf(w, "round trip, %d client(s) and %d server(s) (all repetitions merged):\n", s.p, s.c)
	t = report.NewTable(w, "medium", "min", "p50", "p99", "p99.9", "max", "round trips")
	for _, c := range r.rowsOf(s, baseline, mpRoundTrip) {
		h := c.merged()
		t.Row(append(percentiles(c.label, h, 0, 50, 99, 99.9, 100), fmt.Sprint(h.TotalCount()))...)
	}
	t.Flush()
}

// writeRatios compares the ring across processes and between goroutines
// with the channel between the same goroutines, and the ring across
// processes with the SPSC ring across processes.
func (r *mpReport) writeRatios(w io.Writer, s mpShape) {
	k := r.plan.kind
	for _, pr := range []struct {
		other                              mpShape
		baseMedium, otherMedium, otherKind string
	}{
		{s, mediumProcs, mediumChan, k},
		{s, mediumGoroutines, mediumChan, k},
		{baselineShape, mediumProcs, mediumProcs, "spsc"},
	} {
		bt, bp := r.cell(s, pr.baseMedium, k, mpThroughput), r.cell(s, pr.baseMedium, k, mpRoundTrip)
		ot, op := r.cell(pr.other, pr.otherMedium, pr.otherKind, mpThroughput), r.cell(pr.other, pr.otherMedium, pr.otherKind, mpRoundTrip)
		if parts := report.Compare("throughput", bt.rate(), ot.rate(), "RTT", bp.mergedP, op.mergedP); len(parts) > 0 {
			label := ot.label
			if pr.otherKind == "spsc" {
				label += " 1P1C"
			}
			fmt.Fprintf(w, "%s vs %s: %s\n", bt.label, label, strings.Join(parts, ", "))
		}
	}
}

// writeWarnings flags throughput windows much shorter than the sending
// time: a consumer that started late or a run cut short.
func (r *mpReport) writeWarnings(w io.Writer) {
	for _, c := range r.cells {
		if c.job.workload != mpThroughput {
			continue
		}
		for i, o := range c.reps {
			if o.elapsed < r.plan.duration/2 {
				fmt.Fprintf(w, "WARNING: %s %s repetition %d: the consumers' window spans only %s of the %s sent: that rate is unreliable\n",
					c.shape, c.label, i+1, report.Dur(o.elapsed), r.plan.duration)
			}
		}
	}
}
