//go:build linux

package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

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
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "medium\tproducer msgs/s\tpublished\t")
		for _, c := range flat {
			if c.out == nil {
				fmt.Fprintf(tw, "%s\t%s\t\t\n", fanLabel(c.job), report.Skipped(c.skipped))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t\n", fanLabel(c.job), report.Rate(c.out.rate()), c.out.published)
		}
		tw.Flush()
		writeFanReaders(w, flat)
		if len(paced) > 0 {
			fmt.Fprintf(w, "latency, paced at %.0f messages/s:\n", p.rate)
			tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "medium\tpublished\tp50\tp99\tp99.9\tmax\t")
			for _, c := range paced {
				if c.out == nil {
					fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\n", fanLabel(c.job), report.Skipped(c.skipped))
					continue
				}
				h := c.out.lat
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", fanLabel(c.job), c.out.published,
					report.Dur(report.At(h, 50)), report.Dur(report.At(h, 99)), report.Dur(report.At(h, 99.9)), report.Dur(report.At(h, 100)))
			}
			tw.Flush()
		}
		var parts []string
		if len(flat) == 2 && flat[0].out != nil && flat[1].out != nil {
			if a, b := flat[0].out.rate(), flat[1].out.rate(); a > 0 && b > 0 {
				parts = append(parts, report.Ratio(a/b, "producer throughput", "lower producer throughput"))
			}
		}
		if len(paced) == 2 && paced[0].out != nil && paced[1].out != nil {
			for _, q := range []struct {
				p    float64
				name string
			}{{50, "median latency"}, {99, "p99 latency"}} {
				a, b := float64(paced[0].out.lat.ValueAtQuantile(q.p)), float64(paced[1].out.lat.ValueAtQuantile(q.p))
				if a > 0 && b > 0 {
					parts = append(parts, report.Ratio(b/a, "lower "+q.name, "higher "+q.name))
				}
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s vs %s: %s\n", fanLabel(flat[0].job), fanLabel(flat[1].job), strings.Join(parts, ", "))
		}
	}
	said := map[string]bool{}
	for _, c := range r.cells {
		if c.skipped != "" && !said[c.skipped] {
			said[c.skipped] = true
			fmt.Fprintf(w, "skipped: %s\n", c.skipped)
		}
	}
}

// writeFanReaders is the per-reader table of the flat-out pass.
func writeFanReaders(w io.Writer, cells []*fanCell) {
	fmt.Fprintf(w, "per reader:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "medium\treader\tpolicy\treceived\tmissed\tlaps\tmax lag\tmean lag\t")
	for _, c := range cells {
		if c.out == nil {
			continue
		}
		for _, rr := range c.out.readers {
			mean := "-"
			if rr.LagSamples > 0 {
				mean = fmt.Sprintf("%.0f", float64(rr.LagSum)/float64(rr.LagSamples))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\t\n", c.job.medium, rr.Index, rr.Policy, rr.Received, rr.Missed, rr.Laps, rr.MaxLag, mean)
		}
	}
	tw.Flush()
}

// policyCounts is "mixed: 2 lossless, 1 lossy".
func policyCounts(policy string, n int) string {
	if policy != "mixed" {
		return policy
	}
	lossless := (n + 1) / 2
	return fmt.Sprintf("mixed: %d lossless, %d lossy", lossless, n-lossless)
}
