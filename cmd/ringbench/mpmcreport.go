//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/report"
)

// The mpmc subcommand's table and JSON file.

func (c *mpCell) ok() bool { return c != nil && c.skipped == "" && len(c.reps) > 0 }

func (c *mpCell) rates() []float64 {
	var xs []float64
	for _, o := range c.reps {
		xs = append(xs, o.rate())
	}
	return xs
}

func (c *mpCell) merged() *hdrhistogram.Histogram {
	h := report.NewHist()
	for _, o := range c.reps {
		if o.rtt != nil {
			h.Merge(o.rtt)
		}
	}
	return h
}

// cell finds the cell of one shape, medium, kind and workload; nil if none.
func (r *mpReport) cell(s mpShape, medium, kind, workload string) *mpCell {
	for _, c := range r.cells {
		if c.shape == s && c.job.medium == medium && c.job.kind == kind && c.job.workload == workload {
			return c
		}
	}
	return nil
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
	said := map[string]bool{}
	for _, c := range r.cells {
		if c.skipped != "" && !said[c.skipped] {
			said[c.skipped] = true
			fmt.Fprintf(w, "skipped: %s\n", c.skipped)
		}
	}
	r.writeWarnings(w)
}

func (r *mpReport) writeTables(w io.Writer, s mpShape, baseline bool) {
	fmt.Fprintf(w, "throughput (median of repetitions, and their range):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "medium\tmsgs/s\tmin–max\tper msg\tmessages\t")
	for _, c := range r.rowsOf(s, baseline, mpThroughput) {
		if !c.ok() {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\n", c.label, report.Skipped(c.skipped))
			continue
		}
		sp := report.SpreadOf(c.rates())
		var n uint64
		for _, o := range c.reps {
			n += o.received
		}
		per := "-"
		if sp.Median > 0 {
			per = report.Dur(time.Duration(float64(time.Second) / sp.Median))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s–%s\t%s\t%d\t\n", c.label, report.Rate(sp.Median), report.RateShort(sp.Min), report.RateShort(sp.Max), per, n)
	}
	tw.Flush()
	fmt.Fprintf(w, "round trip, %d client(s) and %d server(s) (all repetitions merged):\n", s.p, s.c)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "medium\tmin\tp50\tp99\tp99.9\tmax\tround trips\t")
	for _, c := range r.rowsOf(s, baseline, mpRoundTrip) {
		if !c.ok() {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\n", c.label, report.Skipped(c.skipped))
			continue
		}
		h := c.merged()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", c.label, report.Dur(report.At(h, 0)), report.Dur(report.At(h, 50)),
			report.Dur(report.At(h, 99)), report.Dur(report.At(h, 99.9)), report.Dur(report.At(h, 100)), h.TotalCount())
	}
	tw.Flush()
}

// writeRatios compares the ring across processes and between goroutines
// with the channel between the same goroutines, and the ring across
// processes with the SPSC ring across processes.
func (r *mpReport) writeRatios(w io.Writer, s mpShape) {
	k := r.plan.kind
	pairs := []struct {
		base, other                        mpShape
		baseMedium, otherMedium, otherKind string
	}{
		{s, s, mediumProcs, mediumChan, k},
		{s, s, mediumGoroutines, mediumChan, k},
		{s, baselineShape, mediumProcs, mediumProcs, "spsc"},
	}
	for _, pr := range pairs {
		b := [2]*mpCell{r.cell(pr.base, pr.baseMedium, k, mpThroughput), r.cell(pr.base, pr.baseMedium, k, mpRoundTrip)}
		o := [2]*mpCell{r.cell(pr.other, pr.otherMedium, pr.otherKind, mpThroughput), r.cell(pr.other, pr.otherMedium, pr.otherKind, mpRoundTrip)}
		if parts := compareMP(b, o); len(parts) > 0 {
			label := o[0].label
			if pr.otherKind == "spsc" {
				label += " 1P1C"
			}
			fmt.Fprintf(w, "%s vs %s: %s\n", b[0].label, label, strings.Join(parts, ", "))
		}
	}
}

// compareMP spells out how base (throughput, round trip) fares against
// other.
func compareMP(base, other [2]*mpCell) []string {
	var parts []string
	if base[0].ok() && other[0].ok() {
		b, o := report.SpreadOf(base[0].rates()).Median, report.SpreadOf(other[0].rates()).Median
		if b > 0 && o > 0 {
			parts = append(parts, report.Ratio(b/o, "throughput", "lower throughput"))
		}
	}
	if base[1].ok() && other[1].ok() {
		bh, oh := base[1].merged(), other[1].merged()
		for _, q := range []struct {
			p    float64
			name string
		}{{50, "median RTT"}, {99, "p99 RTT"}} {
			b, o := float64(bh.ValueAtQuantile(q.p)), float64(oh.ValueAtQuantile(q.p))
			if b > 0 && o > 0 {
				parts = append(parts, report.Ratio(o/b, "lower "+q.name, "higher "+q.name))
			}
		}
	}
	return parts
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

// The --json file of the mpmc subcommand.
type mpJSONReport struct {
	Tool    string         `json:"tool"`
	Mode    string         `json:"mode"` // "mpmc"
	Format  int            `json:"format"`
	Time    time.Time      `json:"time"`
	Machine report.Machine `json:"machine"`
	Flags   []string       `json:"flags"`
	Results []mpJSONCell   `json:"results"`
}

type mpJSONCell struct {
	Shape     string           `json:"shape"` // "2P2C"
	Producers int              `json:"producers"`
	Consumers int              `json:"consumers"`
	Medium    string           `json:"medium"` // processes, goroutines or chan
	Kind      string           `json:"kind"`   // ring kind (chan: the shape's kind)
	Label     string           `json:"label"`
	Workload  string           `json:"workload"`
	Size      int              `json:"size"`
	Skipped   string           `json:"skipped,omitempty"`
	Reps      []mpJSONRep      `json:"reps,omitempty"`
	MsgsPerS  *report.Spread   `json:"msgs_per_sec,omitempty"`
	LatencyNs map[string]int64 `json:"latency_ns,omitempty"`
	Histogram string           `json:"histogram,omitempty"`
}

type mpJSONRep struct {
	Received   uint64           `json:"received,omitempty"`
	ElapsedNs  int64            `json:"elapsed_ns,omitempty"`
	MsgsPerSec float64          `json:"msgs_per_sec,omitempty"`
	RoundTrips uint64           `json:"round_trips,omitempty"`
	LatencyNs  map[string]int64 `json:"latency_ns,omitempty"`
}

func (r *mpReport) writeJSON(path string) error {
	out := mpJSONReport{Tool: "ringbench", Mode: "mpmc", Format: jsonFormat, Time: time.Now().UTC(),
		Machine: r.mach, Flags: r.args}
	for _, c := range r.cells {
		jc := mpJSONCell{Shape: c.shape.String(), Producers: c.shape.p, Consumers: c.shape.c, Medium: c.job.medium,
			Kind: c.job.kind, Label: c.label, Workload: c.job.workload, Size: c.job.size, Skipped: c.skipped}
		for _, o := range c.reps {
			if c.job.workload == mpThroughput {
				jc.Reps = append(jc.Reps, mpJSONRep{Received: o.received, ElapsedNs: o.elapsed.Nanoseconds(), MsgsPerSec: o.rate()})
			} else {
				jc.Reps = append(jc.Reps, mpJSONRep{RoundTrips: o.trips, LatencyNs: report.Percentiles(o.rtt)})
			}
		}
		if c.ok() {
			if c.job.workload == mpThroughput {
				s := report.SpreadOf(c.rates())
				jc.MsgsPerS = &s
			} else {
				h := c.merged()
				jc.LatencyNs = report.Percentiles(h)
				var err error
				if jc.Histogram, err = report.Encode(h); err != nil {
					return err
				}
			}
		}
		out.Results = append(out.Results, jc)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
