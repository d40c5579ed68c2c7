//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/limits"
	"github.com/shmring/shmring/internal/report"
)

// ceilingTime is how long each probe of --ceiling runs.
const ceilingTime = 200 * time.Millisecond

func newLimitsCmd(stdout, stderr io.Writer) *cobra.Command {
	var d time.Duration
	var withC, bench bool
	cmd := command("limits", "Measure this machine's ceilings: cache-line round trip, SPSC ring of plain stores, memcpy, futex ping-pong, pipe round trip",
		"ringbench limits measures what this machine can physically do, the references ringbench run --ceiling compares\n"+
			"the ring with: the round trip of one cache line between two cores, a minimal SPSC ring of plain stores (8-byte\n"+
			"values), memcpy bandwidth over 1 MiB, a futex ping-pong (both sides sleep every turn) and a 64-byte pipe round\n"+
			"trip. Each in Go, and in C (built from the sources inside ringbench with $CC or cc) when a compiler is found.",
		cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
			if d <= 0 || d > maxDuration {
				return fmt.Errorf("--duration %v: want more than 0 and at most %v", d, maxDuration)
			}
			var s limits.Set
			var note string
			if err := interruptible(stderr, func(ctx context.Context) (err error) {
				lineProgress{stderr}.step("this machine's ceilings")
				s, note, err = limits.Measure(ctx, d, withC)
				return err
			}); err != nil {
				return err
			}
			if bench {
				return writeLimitsBench(stdout, s)
			}
			fmt.Fprintf(stdout, "ringbench limits: this machine's ceilings, each probe for %s (medians)\n", d)
			fmt.Fprintf(stdout, "machine: %s\n", report.Describe())
			writeCeilingTable(stdout, s, note)
			return nil
		})
	cmd.Flags().DurationVar(&d, "duration", ceilingTime, "how long each probe runs")
	cmd.Flags().BoolVar(&withC, "c", true, "also build and run the C probes when a C compiler is found")
	cmd.Flags().BoolVar(&bench, "bench", false, "print Go benchmark-format lines instead of the table (for scripts and benchstat)")
	return cmd
}

// writeCeilingTable prints every reference, Go beside C.
func writeCeilingTable(w io.Writer, s limits.Set, note string) {
	t := report.NewTable(w, "reference", "Go", "C")
	for _, name := range limits.Names {
		row := []string{name}
		for _, lang := range []string{"go", "c"} {
			cell := "-"
			if r, ok := s.Get(name, lang); ok {
				cell = r.String()
			}
			row = append(row, cell)
		}
		t.Row(row...)
	}
	t.Flush()
	if note != "" {
		fmt.Fprintln(w, note)
	}
}

func (r *runReport) writeCeilings(w io.Writer) {
	if r.ceilings == nil {
		return
	}
	fmt.Fprintf(w, "ceilings:  this machine's references, measured before the runs (ringbench limits; ratios below are to C's where measured)\n")
	writeCeilingTable(w, r.ceilings, r.ceilingNote)
}

// rttCeiling is the least a transport's wait costs per round trip.
func rttCeiling(transport string) string {
	switch {
	case strings.HasSuffix(transport, "-sleep"):
		return limits.Futex
	case strings.HasPrefix(transport, "shmring"), transport == "chan":
		return limits.CacheLine
	}
	return limits.Pipe
}

// writeRatiosToCeilings gives each transport's median throughput as a
// fraction of the plain SPSC ring's (its bytes of memcpy's), and its median
// round trip as a multiple of the reference its wait is bound by.
func (r *runReport) writeRatiosToCeilings(w io.Writer, size msgSize) {
	if r.ceilings == nil {
		return
	}
	get := func(name string) float64 { // C's is the machine's, Go's what a Go program gets
		if ref, ok := r.ceilings.Get(name, "c"); ok {
			return ref.Value
		}
		ref, _ := r.ceilings.Get(name, "go")
		return ref.Value
	}
	var beaten []string // figures past a ceiling: the probe, not the transport, is wrong
	for _, tr := range r.plan.transports {
		var parts []string
		add := func(part string, past bool) {
			parts = append(parts, part)
			if past {
				beaten = append(beaten, tr.name()+" "+part)
			}
		}
		if c := r.cell(tr.name(), throughput, size); c.rate() > 0 {
			rate := c.rate()
			if spsc := get(limits.SPSC); spsc > 0 {
				add(fmt.Sprintf("throughput %s of the %s", report.Factor(rate/spsc)+"x", limits.SPSC), rate > spsc)
			}
			if bw := get(limits.Memcpy); bw > 0 {
				add(fmt.Sprintf("bytes %sx %s", report.Factor(c.byteRate()/bw), limits.Memcpy), c.byteRate() > bw)
			}
		}
		ref := rttCeiling(tr.name())
		if p50, v := r.cell(tr.name(), pingpong, size).mergedP(50), get(ref); p50 > 0 && v > 0 {
			add(fmt.Sprintf("median RTT %sx the %s", report.Factor(p50/v), ref), p50 < v)
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s vs ceilings: %s\n", tr.name(), strings.Join(parts, ", "))
		}
	}
	// A ceiling is the best this machine can do: a transport cannot beat
	// it, so a figure past one says the probe ran slow (other load on
	// the cores, too few of them, a frequency change), and every ratio to
	// it is suspect. The figures stay, with the warning.
	if len(beaten) > 0 {
		fmt.Fprintf(w, "WARNING: past a ceiling: %s. A ceiling is the best this machine does, so its probe was disturbed\n"+
			"(other load, too few free cores); these ratios do not hold. Measure again on a quiet machine (ringbench limits).\n",
			strings.Join(beaten, "; "))
	}
}

// writeLimitsBench prints one line per reference:
//
//	BenchmarkLimits/ref=spsc/lang=c 1 292300000 msgs/s
func writeLimitsBench(w io.Writer, s limits.Set) error {
	units := map[string]string{"ns": "ns/rtt", "msg/s": "msgs/s", "B/s": "B/s"}
	for _, r := range s {
		if _, err := fmt.Fprintf(w, "BenchmarkLimits/ref=%s/lang=%s\t1\t%.1f %s\n", limits.Keys[slices.Index(limits.Names, r.Name)], r.Lang, r.Value, units[r.Unit]); err != nil {
			return err
		}
	}
	return nil
}
