package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The broadcast subcommand's table.

func (r *fanReport) write(w io.Writer) {
	p := r.plan
	fmt.Fprintf(w, "ringbench broadcast: one producer (this process) to N reader processes, broadcast ring beside one unix socket per reader\n")
	fmt.Fprintf(w, "machine:   %s (every process)\n", r.mach)
	fmt.Fprintf(w, "method:    the producer publishes %d-byte messages for %s, one per call (ring: copying Send; sockets: one write(2) to each);\n", p.size, p.duration)
	fmt.Fprintf(w, "           readers read one per call (ring: copying Recv, which never returns a torn message; sockets: read(2));\n")
	fmt.Fprintf(w, "           every message carries its sequence number, a CRC-32C and its send time (time.Now().UnixNano());\n")
	fmt.Fprintf(w, "           latency = receive time − send time, every message, all readers merged (HDR, 3 digits): under full load it is\n")
	fmt.Fprintf(w, "           mostly queueing, bounded by the ring's %d slots or the socket buffers; lag sampled every %d messages; unpinned\n", p.slots, lagEvery)
	for _, n := range p.readers {
		var cells []*fanCell
		for _, c := range r.cells {
			if c.job.readers == n {
				cells = append(cells, c)
			}
		}
		fmt.Fprintf(w, "\n== %d reader(s), ring policy %s, %d-byte messages ==\n", n, policyCounts(p.policy, n), p.size)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "medium\tproducer msgs/s\tpublished\tp50\tp99\tp99.9\tmax\t")
		for _, c := range cells {
			if c.out == nil {
				fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\n", fanLabel(c.job), skippedMark(c.skipped))
				continue
			}
			h := c.out.lat
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", fanLabel(c.job), fmtRate(c.out.rate()), c.out.published,
				fmtDur(valueAt(h, 50)), fmtDur(valueAt(h, 99)), fmtDur(valueAt(h, 99.9)), fmtDur(valueAt(h, 100)))
		}
		tw.Flush()
		fmt.Fprintf(w, "per reader:\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
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
		if len(cells) == 2 && cells[0].out != nil && cells[1].out != nil {
			ring, sock := cells[0].out, cells[1].out
			var parts []string
			if a, b := ring.rate(), sock.rate(); a > 0 && b > 0 {
				parts = append(parts, ratio(a/b, "producer throughput", "lower producer throughput"))
			}
			for _, q := range []struct {
				p    float64
				name string
			}{{50, "median latency"}, {99, "p99 latency"}} {
				a, b := float64(ring.lat.ValueAtQuantile(q.p)), float64(sock.lat.ValueAtQuantile(q.p))
				if a > 0 && b > 0 {
					parts = append(parts, ratio(b/a, "lower "+q.name, "higher "+q.name))
				}
			}
			fmt.Fprintf(w, "%s vs %s: %s\n", fanLabel(cells[0].job), fanLabel(cells[1].job), strings.Join(parts, ", "))
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

// policyCounts is "mixed: 2 lossless, 1 lossy".
func policyCounts(policy string, n int) string {
	if policy != "mixed" {
		return policy
	}
	lossless := (n + 1) / 2
	return fmt.Sprintf("mixed: %d lossless, %d lossy", lossless, n-lossless)
}
