//go:build linux

package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/report"
	"github.com/spf13/cobra"
)

// The mpmc subcommand: many producers and many consumers on one ring; its
// plan, run and tables.

// Limits of the mpmc and broadcast subcommands' flags.
const (
	maxWorkers   = 64       // producers, consumers or readers of one measurement
	maxMultiSize = 16 << 20 // bytes per message
)

// mpFlags are the mpmc subcommand's flags as given.
type mpFlags struct {
	kind      string
	producers int
	consumers int
	size      int
	slots     int
	duration  time.Duration
	warmup    time.Duration
	reps      int
	jsonFile  string
}

func (f *mpFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.kind, "kind", "mpmc", "ring kind: mpmc (many consumers) or mpsc (one consumer)")
	fs.IntVar(&f.producers, "producers", 0, "producer processes (and round-trip clients); with neither this nor --consumers, the preset shapes 1P1C, 2P2C, 4P1C (mpsc: 1P1C, 2P1C, 4P1C)")
	fs.IntVar(&f.consumers, "consumers", 0, "consumer processes (and round-trip servers); 1 when only --producers is given")
	sizeVar(fs, &f.size, "size", 64, fmt.Sprintf("message size in bytes, %d to %d (k, M and G suffixes allowed: 4k, 1M)", codec.HeaderSize, maxMultiSize))
	fs.IntVar(&f.slots, "slots", 1024, "ring slots (a power of two), and the Go channel's capacity")
	fs.DurationVar(&f.duration, "duration", 250*time.Millisecond, "how long producers (and round-trip clients) send in each test")
	fs.DurationVar(&f.warmup, "warmup", 50*time.Millisecond, "round trip: unrecorded start of each client's run")
	fs.IntVar(&f.reps, "reps", 3, "repetitions of every test (interleaved); throughput is the median, latency all repetitions merged")
	fs.StringVar(&f.jsonFile, "json", "", "write every figure, every repetition, the machine and the flags to this JSON file")
}

// mpShape is a producer and consumer count.
type mpShape struct{ p, c int }

func (s mpShape) String() string { return fmt.Sprintf("%dP%dC", s.p, s.c) }

// mpPlan is what the flags ask for: the flags, checked, and the shapes.
type mpPlan struct {
	mpFlags
	shapes []mpShape
}

func (f *mpFlags) plan(changed func(string) bool) (mpPlan, error) {
	p := mpPlan{mpFlags: *f}
	if f.kind != "mpmc" && f.kind != "mpsc" {
		return p, fmt.Errorf("--kind %q: want mpmc or mpsc", f.kind)
	}
	if err := cmp.Or(checkRing(f.slots, f.size, codec.HeaderSize, "producer, sequence number, checksum and send time"),
		checkRun(f.duration, f.warmup, f.reps)); err != nil {
		return p, err
	}
	if !changed("producers") && !changed("consumers") {
		p.shapes = []mpShape{{1, 1}, {2, 2}, {4, 1}}
		if f.kind == "mpsc" {
			p.shapes = []mpShape{{1, 1}, {2, 1}, {4, 1}}
		}
		return p, nil
	}
	s := mpShape{max(f.producers, 1), max(f.consumers, 1)}
	if changed("producers") && (f.producers < 1 || f.producers > maxWorkers) {
		return p, fmt.Errorf("--producers %d: want 1 to %d", f.producers, maxWorkers)
	}
	if changed("consumers") && (f.consumers < 1 || f.consumers > maxWorkers) {
		return p, fmt.Errorf("--consumers %d: want 1 to %d", f.consumers, maxWorkers)
	}
	if f.kind == "mpsc" && s.c > 1 {
		return p, fmt.Errorf("--consumers %d: an mpsc ring has one consumer (use --kind mpmc)", s.c)
	}
	p.shapes = []mpShape{s}
	return p, nil
}

// mpCell is one row of the report: every repetition of one job.
type mpCell struct {
	job   mpJob
	shape mpShape
	label string // the medium as the table names it
	row[*mpOutcome]
}

// baselineShape marks the SPSC baseline cells, measured once per run.
var baselineShape = mpShape{1, 1}

// cells lists the plan's measurements in order: per shape the ring across
// processes and between goroutines and the channel; then SPSC.
func (p mpPlan) cells() []*mpCell {
	var cells []*mpCell
	add := func(s mpShape, medium, kind, label string) {
		for _, w := range []string{mpThroughput, mpRoundTrip} {
			j := mpJob{workload: w, medium: medium, kind: kind, producers: s.p, consumers: s.c,
				size: p.size, slots: p.slots, duration: p.duration, warmup: p.warmup}
			cells = append(cells, &mpCell{job: j, shape: s, label: label})
		}
	}
	for _, s := range p.shapes {
		add(s, mediumProcs, p.kind, fmt.Sprintf("%s ring, %d processes", p.kind, s.p+s.c))
		add(s, mediumGoroutines, p.kind, fmt.Sprintf("%s ring, %d goroutines", p.kind, s.p+s.c))
		add(s, mediumChan, p.kind, fmt.Sprintf("Go channel, %d goroutines", s.p+s.c))
	}
	add(baselineShape, mediumProcs, "spsc", "spsc ring, 2 processes")
	return cells
}

func newMPCmd(stdout, stderr io.Writer) *cobra.Command {
	var f mpFlags
	cmd := command("mpmc", "Measure MPMC or MPSC rings: P producer and C consumer processes, beside goroutines, a shared Go channel and SPSC",
		"ringbench mpmc measures many producers and consumers on one ring, for each shape (1P1C, 2P2C, 4P1C by\n"+
			"default), in one run:\n"+
			"  - throughput: P producer and C consumer child processes on one ring, aggregate messages per second;\n"+
			"  - the same P+C workers as goroutines of one process, over the ring and over one shared buffered Go channel;\n"+
			"  - round trip: P client processes (one request outstanding each) send into a request ring, C server\n"+
			"    processes echo into a reply ring, any client takes any reply and times it from the send time in it\n"+
			"    (HDR histogram); mpsc replies go over one SPSC ring per client;\n"+
			"and once, an SPSC ring 1P1C across processes as the baseline. Every message carries its producer, that\n"+
			"producer's sequence number and a CRC-32C; consumers check each checksum and each producer's order, and\n"+
			"the parent checks that every message sent arrived exactly once; a failed check exits 1.",
		cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
			p, err := f.plan(cmd.Flags().Changed)
			if err == nil {
				err = checkOutputs(f.jsonFile, "")
			}
			if err != nil {
				return err
			}
			return interruptible(stderr, func(ctx context.Context) error { // a file not written fails it too
				rep, err := runMPPlan(ctx, p, lineProgress{stderr})
				if err != nil {
					return err
				}
				rep.args = flagList(cmd.Flags())
				rep.write(stdout)
				if f.jsonFile == "" {
					return nil
				}
				return writeJSONFile(f.jsonFile, rep.toJSON)
			})
		})
	f.register(cmd)
	return cmd
}

// mpReport is what the mpmc subcommand found.
type mpReport struct {
	mach  report.Machine
	plan  mpPlan
	args  []string
	cells []*mpCell
}

// runMPPlan measures every cell reps times, interleaved.
func runMPPlan(ctx context.Context, p mpPlan, prog progress) (*mpReport, error) {
	rep := &mpReport{mach: report.Describe(), plan: p, cells: p.cells()}
	for r := range p.reps {
		for _, c := range rep.cells {
			prog.step(fmt.Sprintf("%s %s, %s, %d-byte messages (repetition %d of %d)", c.shape, c.job.workload, c.label, p.size, r+1, p.reps))
			o, err := runMPJob(ctx, c.job)
			if err != nil {
				return nil, fmt.Errorf("%s %s over %s: %w", c.shape, c.job.workload, c.label, err)
			}
			c.reps = append(c.reps, o)
		}
	}
	prog.done()
	return rep, nil
}

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
