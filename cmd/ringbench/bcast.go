//go:build linux

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/report"
	"github.com/spf13/cobra"
)

// The broadcast subcommand: one producer, N reader processes, over a
// broadcast ring and over one unix stream socket per reader.

// Media of the broadcast subcommand.
const (
	fanRing = "ring"
	fanUnix = "unix"
)

type fanFlags struct {
	readerList string
	policy     string
	size       int
	slots      int
	duration   time.Duration
	rate       float64 // the paced pass's messages per second; 0: none
}

func (f *fanFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.readerList, "readers", "1,2,4", "comma-separated reader counts, each measured in turn")
	fs.StringVar(&f.policy, "policy", "lossless", "ring readers' policy: lossless (they gate the producer), lossy (they never do; an overrun reader is told how many it missed) or mixed (even readers lossless, odd lossy)")
	sizeVar(fs, &f.size, "size", 64, fmt.Sprintf("message size in bytes, %d to %d (k, M and G suffixes allowed: 4k, 1M)", codec.HeaderSize, maxMultiSize))
	fs.IntVar(&f.slots, "slots", 4096, "broadcast ring slots, a power of two")
	fs.DurationVar(&f.duration, "duration", 250*time.Millisecond, "how long the producer publishes in each test")
	fs.Float64Var(&f.rate, "rate", 20000, "messages per second of the paced latency pass (each stamped with its intended send time, so readers\n"+
		"that keep up show wake-up and copy cost, not queueing; a medium that cannot keep the rate is skipped, as in run --rate);\n"+
		"0 skips the pass")
}

// fanPlan is what the flags ask for: the flags, checked, and the reader counts.
type fanPlan struct {
	fanFlags
	readers []int
}

func (f *fanFlags) plan() (fanPlan, error) {
	p := fanPlan{fanFlags: *f}
	if err := cmp.Or(checkRing(f.slots, f.size, codec.HeaderSize, "sequence number, checksum and send time"),
		checkRun(f.duration, 0, 1)); err != nil {
		return p, err
	}
	if f.policy != "lossless" && f.policy != "lossy" && f.policy != "mixed" {
		return p, fmt.Errorf("--policy %q: want lossless, lossy or mixed", f.policy)
	}
	if err := checkRate(f.rate, 1e7, true); err != nil {
		return p, err
	}
	for _, s := range splitList(f.readerList) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxWorkers {
			return p, fmt.Errorf("--readers: %q: want reader counts from 1 to %d", s, maxWorkers)
		}
		if !slices.Contains(p.readers, n) {
			p.readers = append(p.readers, n)
		}
	}
	if len(p.readers) == 0 {
		return p, fmt.Errorf("--readers: no reader count given")
	}
	return p, nil
}

// policyOf is reader i's policy under the plan's policy.
func policyOf(policy string, i int) string {
	if policy == "mixed" {
		return [2]string{"lossless", "lossy"}[i%2]
	}
	return policy
}

// fanCell is one medium at one reader count, measured once.
type fanCell struct {
	job fanJob
	row[*fanOutcome]
}

// fanReport is what the broadcast subcommand found.
type fanReport struct {
	mach  report.Machine
	plan  fanPlan
	cells []*fanCell
}

func runFanPlan(ctx context.Context, p fanPlan, prog progress) (*fanReport, error) {
	rep := &fanReport{mach: report.Describe(), plan: p}
	rates := []float64{0}
	if p.rate > 0 {
		rates = append(rates, p.rate)
	}
	for _, n := range p.readers {
		for _, rate := range rates {
			for _, m := range []string{fanRing, fanUnix} {
				rep.cells = append(rep.cells, &fanCell{job: fanJob{medium: m, readers: n, policy: p.policy, size: p.size, slots: p.slots, duration: p.duration, rate: rate}})
			}
		}
	}
	for _, c := range rep.cells {
		pace := "flat out"
		if c.job.rate > 0 {
			pace = fmt.Sprintf("paced at %.0f/s", c.job.rate)
		}
		prog.step(fmt.Sprintf("%d reader(s) over %s, %d-byte messages, %s", c.job.readers, fanLabel(c.job), p.size, pace))
		o, err := runFanJob(ctx, c.job)
		if errors.Is(err, errBehindRate) { // as run --rate does: no figures
			c.skipped = fmt.Sprintf("%s, %d reader(s), %s: %v", fanLabel(c.job), c.job.readers, pace, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%d readers over %s: %w", c.job.readers, fanLabel(c.job), err)
		}
		c.reps = append(c.reps, o)
	}
	prog.done()
	return rep, nil
}

func fanLabel(j fanJob) string {
	if j.medium == fanUnix {
		return fmt.Sprintf("unix sockets ×%d", j.readers)
	}
	return fmt.Sprintf("broadcast ring (%s)", j.policy)
}

func newFanoutCmd(stdout, stderr io.Writer) *cobra.Command {
	var f fanFlags
	cmd := command("broadcast", "Measure a broadcast ring: one producer, N reader processes, beside one unix socket per reader",
		"ringbench broadcast measures fan-out from one producer (this process) to N reader child processes,\n"+
			"for each reader count (1, 2, 4 by default), in one run: over a broadcast ring (each reader lossless,\n"+
			"lossy or mixed) and over one unix stream socket per reader, the producer writing every message to each.\n"+
			"It reports the producer's messages per second flat out, each reader's received count, lag, laps and\n"+
			"missed messages, and, from a second pass paced at --rate, reader latency percentiles (the time each\n"+
			"message was due, embedded in it, to its receive time; HDR, merged over readers). Lossless readers check every\n"+
			"sequence number in order and every checksum; lossy readers check order and checksum, and that\n"+
			"received + missed == published; a failed check exits 1.",
		cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
			p, err := f.plan()
			if err != nil {
				return err
			}
			return interruptible(stderr, func(ctx context.Context) error {
				rep, err := runFanPlan(ctx, p, lineProgress{stderr})
				if err == nil {
					rep.write(stdout)
				}
				return err
			})
		})
	f.register(cmd)
	return cmd
}

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
			t.Row(fanLabel(c.job), report.Rate(c.rate()), fmt.Sprint(c.reps[0].published))
		}
		t.Flush()
		writeFanReaders(w, flat)
		if len(paced) > 0 {
			fmt.Fprintf(w, "latency, paced at %.0f messages/s:\n", p.rate)
			t = report.NewTable(w, "medium", "published", "p50", "p99", "p99.9", "max")
			for _, c := range paced {
				if !c.ok() {
					t.Row(fanLabel(c.job), "skipped")
					continue
				}
				t.Row(slices.Insert(percentiles(fanLabel(c.job), c.reps[0].lat, 50, 99, 99.9, 100), 1, fmt.Sprint(c.reps[0].published))...)
			}
			t.Flush()
			for _, c := range paced {
				if c.skipped != "" {
					fmt.Fprintf(w, "skipped: %s\n", c.skipped)
				}
			}
		}
		if len(flat) == 2 {
			// A skipped paced cell has no percentile (mergedP is 0): the
			// latency ratio is left out.
			at0, at1 := (&fanCell{}).mergedP, (&fanCell{}).mergedP
			if len(paced) == 2 {
				at0, at1 = paced[0].mergedP, paced[1].mergedP
			}
			if parts := report.Compare("producer throughput", flat[0].rate(), flat[1].rate(), "latency", at0, at1); len(parts) > 0 {
				fmt.Fprintf(w, "%s vs %s: %s\n", fanLabel(flat[0].job), fanLabel(flat[1].job), strings.Join(parts, ", "))
				for _, c := range flat {
					if lost := missedShare(c); lost > 0 {
						fmt.Fprintf(w, "  (producer rates, not delivered ones: the lossy readers of %s, which never hold its producer back, missed up to %.1f%% of what it published)\n",
							fanLabel(c.job), 100*lost)
					}
				}
			}
		}
	}
}

// missedShare is the largest share of what the producer published that
// one of c's readers missed, over its repetitions: 0 when every reader got
// everything.
func missedShare(c *fanCell) float64 {
	worst := 0.0
	for _, o := range c.reps {
		for _, rr := range o.readers {
			if o.published > 0 {
				worst = max(worst, float64(rr.Missed)/float64(o.published))
			}
		}
	}
	return worst
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
