//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/shmring/shmring/internal/limits"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
)

// The --json files of run and mpmc: every figure of every repetition, the
// summaries the tables show, the machine and the flags. Latencies are in
// nanoseconds; histograms are report.Encode's "HISTF…" strings.

// jsonFormat is bumped when a field changes meaning. 2: round_trips counts
// the recorded round trips (the histogram's), as the tables do; the count
// with the warm-up is round_trips_total.
const jsonFormat = 2

// jsonHead starts every file.
type jsonHead struct {
	Tool    string         `json:"tool"`
	Mode    string         `json:"mode,omitempty"` // "mpmc"; none for run
	Format  int            `json:"format"`
	Time    time.Time      `json:"time"`
	Machine report.Machine `json:"machine"`
	Flags   []string       `json:"flags"`
}

func newJSONHead(mode string, m report.Machine, flags []string) jsonHead {
	return jsonHead{Tool: "ringbench", Mode: mode, Format: jsonFormat, Time: time.Now().UTC(), Machine: m, Flags: flags}
}

// jsonSummary is a cell's figures over its repetitions: the throughput's
// spread, or the merged histogram, the round trips it holds (the tables'
// count), its percentiles ("min", "p50", …, "max") and the spread of each
// repetition's p50 and p99.
type jsonSummary struct {
	MsgsPerSec *report.Spread   `json:"msgs_per_sec,omitempty"`
	NsPerMsg   *report.Spread   `json:"ns_per_msg,omitempty"`
	RoundTrips uint64           `json:"round_trips,omitempty"`
	LatencyNs  map[string]int64 `json:"latency_ns,omitempty"`
	P50Ns      *report.Spread   `json:"p50_ns,omitempty"`
	P99Ns      *report.Spread   `json:"p99_ns,omitempty"`
	Histogram  string           `json:"histogram,omitempty"`
}

func (r *row[M]) summary(throughput bool) (s jsonSummary, err error) {
	switch {
	case !r.ok():
	case throughput:
		rate := report.SpreadOf(r.rates())
		if s.MsgsPerSec = &rate; rate.Min > 0 { // JSON has no infinity
			s.NsPerMsg = &report.Spread{Median: 1e9 / rate.Median, Min: 1e9 / rate.Max, Max: 1e9 / rate.Min}
		}
	default:
		h := r.merged()
		p50, p99 := report.SpreadOf(r.quantiles(50)), report.SpreadOf(r.quantiles(99))
		s.RoundTrips, s.LatencyNs, s.P50Ns, s.P99Ns = uint64(h.TotalCount()), report.Percentiles(h), &p50, &p99
		s.Histogram, err = report.Encode(h)
	}
	return s, err
}

type jsonReport struct {
	jsonHead
	Placement  *jsonPlacement  `json:"placement,omitempty"` // none when not measured (--fingerprint=false)
	Ceilings   limits.Set      `json:"ceilings,omitempty"`  // with --ceiling
	Transports []jsonTransport `json:"transports"`
	Results    []jsonCell      `json:"results"`
}

// jsonPlacement is the core-to-core fingerprint before and after.
type jsonPlacement struct {
	BeforeNs int64 `json:"before_ns"`
	AfterNs  int64 `json:"after_ns"`
}

// jsonTransport describes a transport as it carried the first size of the
// run; a medium's parameters may follow the size (see writeLegend), so each
// result has its own description too.
type jsonTransport struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// jsonCell is one transport, workload and size over all repetitions.
type jsonCell struct {
	Transport string `json:"transport"`
	Workload  string `json:"workload"`
	Size      int    `json:"size"`               // the largest message of a mixed run
	MinSize   int    `json:"min_size,omitempty"` // a mixed run's smallest message; 0 for one size
	// Description is the transport as it carried this size (a ring's
	// slots or bytes, a channel's capacity, a queue's depth follow it).
	Description string    `json:"description"`
	Skipped     string    `json:"skipped,omitempty"`
	Reps        []jsonRep `json:"reps,omitempty"`
	jsonSummary
}

type jsonRep struct {
	Sent            uint64           `json:"sent,omitempty"`
	Measured        uint64           `json:"measured,omitempty"`
	Bytes           uint64           `json:"bytes,omitempty"`    // of the measured messages
	Received        uint64           `json:"received,omitempty"` // mpmc
	ElapsedNs       int64            `json:"elapsed_ns,omitempty"`
	MsgsPerSec      float64          `json:"msgs_per_sec,omitempty"`
	RoundTrips      uint64           `json:"round_trips,omitempty"`       // recorded, after the warm-up: the histogram's count
	RoundTripsTotal uint64           `json:"round_trips_total,omitempty"` // made, warm-up included, as the counters count
	LatencyNs       map[string]int64 `json:"latency_ns,omitempty"`
	Histogram       string           `json:"histogram,omitempty"`
	ParentCounters  []medium.Counter `json:"parent_counters,omitempty"`
	PeerCounters    []medium.Counter `json:"peer_counters,omitempty"`
}

func (r *runReport) toJSON() (*jsonReport, error) {
	out := &jsonReport{jsonHead: newJSONHead("", r.mach, r.args), Ceilings: r.ceilings}
	if r.before > 0 {
		out.Placement = &jsonPlacement{BeforeNs: r.before.Nanoseconds(), AfterNs: r.after.Nanoseconds()}
	}
	cfg := r.plan.cfg.withSize(r.plan.sizes[0])
	for _, tr := range r.plan.transports {
		out.Transports = append(out.Transports, jsonTransport{tr.name(), tr.describe(cfg)})
	}
	for _, c := range r.cells {
		jc := jsonCell{Transport: c.tr.name(), Workload: string(c.workload), Size: c.size.max, Skipped: c.skipped,
			Description: c.tr.describe(r.plan.cfg.withSize(c.size))}
		if c.size.mixed() {
			jc.MinSize = c.size.min
		}
		var err error
		for _, m := range c.reps {
			jr := jsonRep{ParentCounters: m.parentCounters, PeerCounters: m.peerCounters}
			if c.workload == throughput {
				jr.Sent, jr.Measured, jr.Bytes, jr.ElapsedNs, jr.MsgsPerSec = m.sent, m.measured, m.bytes, m.elapsed.Nanoseconds(), m.rate()
			} else {
				jr.RoundTrips, jr.RoundTripsTotal, jr.LatencyNs = m.roundTrips(), m.roundTripsTotal, report.Percentiles(m.rtt)
				if jr.Histogram, err = report.Encode(m.rtt); err != nil {
					return nil, err
				}
			}
			jc.Reps = append(jc.Reps, jr)
		}
		if jc.jsonSummary, err = c.summary(c.workload == throughput); err != nil {
			return nil, err
		}
		out.Results = append(out.Results, jc)
	}
	return out, nil
}

// The mpmc subcommand's file.
type mpJSONReport struct {
	jsonHead
	Results []mpJSONCell `json:"results"`
}

type mpJSONCell struct {
	Shape     string    `json:"shape"` // "2P2C"
	Producers int       `json:"producers"`
	Consumers int       `json:"consumers"`
	Medium    string    `json:"medium"` // processes, goroutines or chan
	Kind      string    `json:"kind"`   // ring kind (chan: the shape's kind)
	Label     string    `json:"label"`
	Workload  string    `json:"workload"`
	Size      int       `json:"size"`               // the largest message of a mixed run
	MinSize   int       `json:"min_size,omitempty"` // a mixed run's smallest message; 0 for one size
	Skipped   string    `json:"skipped,omitempty"`
	Reps      []jsonRep `json:"reps,omitempty"`
	jsonSummary
}

func (r *mpReport) toJSON() (*mpJSONReport, error) {
	out := &mpJSONReport{jsonHead: newJSONHead("mpmc", r.mach, r.args)}
	for _, c := range r.cells {
		jc := mpJSONCell{Shape: c.shape.String(), Producers: c.shape.p, Consumers: c.shape.c, Medium: c.job.medium,
			Kind: c.job.kind, Label: c.label, Workload: c.job.workload, Size: c.job.size, Skipped: c.skipped}
		for _, o := range c.reps {
			if c.job.workload == mpThroughput {
				jc.Reps = append(jc.Reps, jsonRep{Received: o.received, ElapsedNs: o.elapsed.Nanoseconds(), MsgsPerSec: o.rate()})
			} else {
				jc.Reps = append(jc.Reps, jsonRep{RoundTrips: uint64(o.rtt.TotalCount()), RoundTripsTotal: o.tripsTotal, LatencyNs: report.Percentiles(o.rtt)})
			}
		}
		var err error
		if jc.jsonSummary, err = c.summary(c.job.workload == mpThroughput); err != nil {
			return nil, err
		}
		out.Results = append(out.Results, jc)
	}
	return out, nil
}

// writeJSONFile writes what toJSON makes of a report to path.
func writeJSONFile[J any](path string, toJSON func() (J, error)) error {
	j, err := toJSON()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// readJSONHead reads a --json file and checks that ringbench wrote it in
// this format; it returns the head (whose Mode says which command wrote
// it) and the bytes.
func readJSONHead(path string) (jsonHead, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return jsonHead{}, nil, err
	}
	var h jsonHead
	if err := json.Unmarshal(b, &h); err != nil {
		return h, nil, fmt.Errorf("%s: not a ringbench JSON file: %w", path, err)
	}
	if h.Tool != "ringbench" {
		return h, nil, fmt.Errorf("%s: not a ringbench JSON file (tool %q)", path, h.Tool)
	}
	if h.Format != jsonFormat && h.Format != 1 { // 1 differs in round_trips alone, which nothing reads back
		return h, nil, fmt.Errorf("%s: JSON format %d, this ringbench reads formats 1 and %d", path, h.Format, jsonFormat)
	}
	return h, b, nil
}

// readJSONFile reads a run --json file back (plot); a file another
// command wrote is refused, since its results are not a run's.
func readJSONFile(path string) (*jsonReport, error) {
	h, b, err := readJSONHead(path)
	if err != nil {
		return nil, err
	}
	if h.Mode != "" {
		return nil, fmt.Errorf("%s: written by ringbench %s --json; this reads files of ringbench run --json", path, h.Mode)
	}
	var j jsonReport
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: not a ringbench JSON file: %w", path, err)
	}
	return &j, nil
}

// writeBench prints the run in Go's benchmark format
// (https://go.dev/design/14313-benchmark-format), one line per repetition,
// so that benchstat compares two runs:
//
//	BenchmarkRingbench/transport=shmring/workload=throughput/size=64 <msgs> <ns> ns/msg <rate> msgs/s <MB/s> MB/s
//	BenchmarkRingbench/transport=pipe/workload=pingpong/size=64 <round trips> <mean> ns/rtt <p50> rtt-p50-ns ...
//
// The iteration count is the messages (or round trips) measured. The header
// holds only what is the same for every run of a machine, so that
// benchstat does not split runs apart on it.
func writeBench(w io.Writer, r *runReport) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "goos: %s\ngoarch: %s\npkg: github.com/shmring/shmring/cmd/ringbench\ncpu: %s\n", runtime.GOOS, runtime.GOARCH, r.mach.CPU)
	for _, c := range r.cells {
		name := fmt.Sprintf("BenchmarkRingbench/transport=%s/workload=%s/size=%s", c.tr.name(), c.workload, c.size.label())
		for _, m := range c.reps {
			if c.workload == throughput {
				rate := m.rate()
				fmt.Fprintf(bw, "%s\t%d\t%.2f ns/msg\t%.0f msgs/s\t%.2f MB/s\n", name, m.measured, 1e9/rate, rate, m.byteRate()/1e6)
				continue
			}
			h := m.rtt
			fmt.Fprintf(bw, "%s\t%d\t%.0f ns/rtt", name, h.TotalCount(), h.Mean())
			for _, q := range report.Quantiles[1:] { // min is noise
				fmt.Fprintf(bw, "\t%d rtt-%s-ns", report.At(h, q.Q).Nanoseconds(), q.Name)
			}
			if sleeps, ok := futexSleeps(m); ok && m.roundTripsTotal > 0 {
				// Both ends' consumers, over every round trip of the run:
				// the counters count the warm-up, so the divisor does too.
				fmt.Fprintf(bw, "\t%.3f sleeps/rtt", float64(sleeps)/float64(m.roundTripsTotal))
			}
			fmt.Fprintln(bw)
		}
	}
	return bw.Flush()
}

const (
	hgrmTicks = 5    // reporting points per half distance to 100%, HdrHistogram's default
	hgrmScale = 1000 // the files' values in microseconds (recorded in ns)
)

// writeHgrms writes each latency cell (repetitions merged) to
// <transport>_<workload>_<size>.hgrm, in microseconds, in the format
// HdrHistogram's outputPercentileDistribution prints and its plotter reads
// (hdrhistogram.github.io/HdrHistogram/plotFiles.html).
func writeHgrms(dir string, r *runReport) error {
	for _, c := range r.cells {
		if c.workload == throughput || !c.ok() {
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("%s_%s_%s.hgrm", c.tr.name(), c.workload, c.size.label()))
		var b bytes.Buffer
		_, err := c.merged().PercentilesPrint(&b, hgrmTicks, hgrmScale)
		if err == nil {
			err = os.WriteFile(path, b.Bytes(), 0o644)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// futexSleeps is how often the two ends' consumers slept on the futex, for
// a transport that counts it (the rings).
func futexSleeps(m *measurement) (uint64, bool) {
	var n uint64
	found := false
	for _, cs := range [][]medium.Counter{m.parentCounters, m.peerCounters} {
		for _, c := range cs {
			if c.Name == "consumer.sleeps" {
				n, found = n+c.Value, true
			}
		}
	}
	return n, found
}
