//go:build linux

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/shmring/shmring/internal/report"
)

// The broadcast subcommand's table.

func (r *fanReport) write(w io.Writer) {
	p := r.plan
	fmt.Fprintf(w, "ringbench broadcast: one producer (this process) to N reader processes, broadcast ring beside one unix socket per reader\n")
	fmt.Fprintf(w, "machine:   %s (every process)\n", r.mach)
	fmt.Fprintf(w, "method:    the producer publishes %d-byte messages for %s, one per call (ring: copying Send; sockets: one write(2) to each);\n", p.size, p.duration)
	fmt.Fprintf(w, "           readers read one per call (ring: copying Recv, which never returns a torn message; sockets: read(2));\n")
	fmt.Fprintf(w, "           every message carries its sequence number, a CRC-32C and its send time (time.Now().UnixNano());\n")
	fmt.Fprintf(w, "           throughput: the producer publishes flat out (the ring has %d slots); lag sampled every %d messages; unpinned\n", p.slots, lagEvery)
	if p.rate > 0 {
		fmt.Fprintf(w, "           latency: a second pass paced at %.0f messages/s, each stamped with the time it was due; latency = receive\n", p.rate)
		fmt.Fprintf(w, "           time − due time, every message, all readers merged (HDR, 3 digits); readers wait with the default strategy\n")
	}
	for _, n := range p.readers {
		var flat, paced []*fanCell
		for _, c := range r.cells {
			switch {
			case c.job.readers != n:
			case c.job.rate == 0:
				flat = append(flat, c)
			default:
				paced = append(paced, c)
			}
		}
		fmt.Fprintf(w, "\n== %d reader(s), ring policy %s, %d-byte messages ==\n", n, policyCounts(p.policy, n), p.size)
		t := report.NewTable(w, "medium", "producer msgs/s", "published")
		for _, c := range flat {
			if !c.ok() {
				t.Row(fanLabel(c.job), report.Skipped(c.skipped))
			} else {
				t.Row(fanLabel(c.job), report.Rate(c.rate()), fmt.Sprint(c.reps[0].published))
			}
		}
		t.Flush()
		writeFanReaders(w, flat)
		if len(paced) > 0 {
			fmt.Fprintf(w, "latency, paced at %.0f messages/s:\n", p.rate)
			t = report.NewTable(w, "medium", "published", "p50", "p99", "p99.9", "max")
			for _, c := range paced {
				if !c.ok() {
					t.Row(fanLabel(c.job), report.Skipped(c.skipped))
				} else {
					t.Row(slices.Insert(percentiles(fanLabel(c.job), c.reps[0].lat, 50, 99, 99.9, 100), 1, fmt.Sprint(c.reps[0].published))...)
				}
			}
			t.Flush()
		}
		if len(flat) == 2 {
			at0, at1 := (&fanCell{}).mergedP, (&fanCell{}).mergedP
			if len(paced) == 2 {
				at0, at1 = paced[0].mergedP, paced[1].mergedP
			}
			if parts := report.Compare("producer throughput", flat[0].rate(), flat[1].rate(), "latency", at0, at1); len(parts) > 0 {
				fmt.Fprintf(w, "%s vs %s: %s\n", fanLabel(flat[0].job), fanLabel(flat[1].job), strings.Join(parts, ", "))
			}
		}
	}
	writeSkips(w, r.cells)
}

// writeFanReaders is the per-reader table of the flat-out pass.
func writeFanReaders(w io.Writer, cells []*fanCell) {
	fmt.Fprintf(w, "per reader:\n")
	t := report.NewTable(w, "medium", "reader", "policy", "received", "missed", "laps", "max lag", "mean lag")
	for _, c := range cells {
		for _, o := range c.reps {
			for _, rr := range o.readers {
				mean := "-"
				if rr.LagSamples > 0 {
					mean = fmt.Sprintf("%.0f", float64(rr.LagSum)/float64(rr.LagSamples))
				}
				t.Row(c.job.medium, fmt.Sprint(rr.Index), rr.Policy, fmt.Sprint(rr.Received), fmt.Sprint(rr.Missed), fmt.Sprint(rr.Laps), fmt.Sprint(rr.MaxLag), mean)
			}
		}
	}
	t.Flush()
}

// policyCounts is "mixed: 2 lossless, 1 lossy".
func policyCounts(policy string, n int) string {
	if policy != "mixed" {
		return policy
	}
	lossless := (n + 1) / 2
	return fmt.Sprintf("mixed: %d lossless, %d lossy", lossless, n-lossless)
}
