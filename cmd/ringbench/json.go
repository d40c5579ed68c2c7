//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/shmring/shmring/internal/limits"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
)

// The --json file: every figure of every repetition, the summaries the
// table shows, the machine and the flags. Latencies are in nanoseconds;
// histograms are HdrHistogram's compressed V2 encoding in base64 (the
// "HISTF…" strings every HdrHistogram library decodes).

const jsonFormat = 1 // bumped when a field changes meaning

type jsonReport struct {
	Tool       string          `json:"tool"`
	Format     int             `json:"format"`
	Time       time.Time       `json:"time"`
	Machine    report.Machine  `json:"machine"`
	Flags      []string        `json:"flags"`
	Placement  jsonPlacement   `json:"placement"`
	Ceilings   limits.Set      `json:"ceilings,omitempty"` // with --ceiling
	Transports []jsonTransport `json:"transports"`
	Results    []jsonCell      `json:"results"`
}

// jsonPlacement is the core-to-core cache-line round trip before and after
// the runs; 0 when not measured.
type jsonPlacement struct {
	BeforeNs int64 `json:"before_ns"`
	AfterNs  int64 `json:"after_ns"`
}

type jsonTransport struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// jsonCell is one transport, workload and size over all repetitions.
type jsonCell struct {
	Transport string    `json:"transport"`
	Workload  string    `json:"workload"`
	Size      int       `json:"size"`
	Skipped   string    `json:"skipped,omitempty"`
	Reps      []jsonRep `json:"reps,omitempty"`

	// Throughput summaries over the repetitions.
	MsgsPerSec *report.Spread `json:"msgs_per_sec,omitempty"`
	NsPerMsg   *report.Spread `json:"ns_per_msg,omitempty"`
	// Latency: the merged histogram's percentiles ("min", "p50", …, "max"),
	// the spread of each repetition's p50 and p99, and the merged histogram.
	LatencyNs map[string]int64 `json:"latency_ns,omitempty"`
	P50Ns     *report.Spread   `json:"p50_ns,omitempty"`
	P99Ns     *report.Spread   `json:"p99_ns,omitempty"`
	Histogram string           `json:"histogram,omitempty"`
}

type jsonRep struct {
	Sent           uint64           `json:"sent,omitempty"`
	Measured       uint64           `json:"measured,omitempty"`
	ElapsedNs      int64            `json:"elapsed_ns,omitempty"`
	MsgsPerSec     float64          `json:"msgs_per_sec,omitempty"`
	RoundTrips     uint64           `json:"round_trips,omitempty"`
	LatencyNs      map[string]int64 `json:"latency_ns,omitempty"`
	Histogram      string           `json:"histogram,omitempty"`
	ParentCounters []medium.Counter `json:"parent_counters,omitempty"`
	PeerCounters   []medium.Counter `json:"peer_counters,omitempty"`
}

func (r *runReport) toJSON() (*jsonReport, error) {
	m := r.mach
	out := &jsonReport{
		Tool: "ringbench", Format: jsonFormat, Time: time.Now().UTC(),
		Machine:   m,
		Flags:     r.args,
		Placement: jsonPlacement{BeforeNs: r.before.Nanoseconds(), AfterNs: r.after.Nanoseconds()},
		Ceilings:  r.ceilings,
	}
	cfg := r.plan.cfg
	cfg.size = r.plan.sizes[0]
	for _, tr := range r.plan.transports {
		out.Transports = append(out.Transports, jsonTransport{tr.name(), tr.describe(cfg)})
	}
	for _, c := range r.cells {
		jc := jsonCell{Transport: c.tr.name(), Workload: string(c.workload), Size: c.size, Skipped: c.skipped}
		for _, m := range c.reps {
			jr := jsonRep{ParentCounters: m.parentCounters, PeerCounters: m.peerCounters}
			if c.workload == throughput {
				jr.Sent, jr.Measured, jr.ElapsedNs, jr.MsgsPerSec = m.sent, m.measured, m.elapsed.Nanoseconds(), m.rate()
			} else {
				var err error
				jr.RoundTrips, jr.LatencyNs = m.roundTrips, report.Percentiles(m.rtt)
				if jr.Histogram, err = report.Encode(m.rtt); err != nil {
					return nil, err
				}
			}
			jc.Reps = append(jc.Reps, jr)
		}
		if c.ok() {
			if c.workload == throughput {
				s := report.SpreadOf(c.rates())
				ns := report.Spread{Median: 1e9 / s.Median, Min: 1e9 / s.Max, Max: 1e9 / s.Min}
				jc.MsgsPerSec, jc.NsPerMsg = &s, &ns
			} else {
				h := c.merged()
				p50, p99 := report.SpreadOf(c.quantiles(50)), report.SpreadOf(c.quantiles(99))
				jc.LatencyNs, jc.P50Ns, jc.P99Ns = report.Percentiles(h), &p50, &p99
				var err error
				if jc.Histogram, err = report.Encode(h); err != nil {
					return nil, err
				}
			}
		}
		out.Results = append(out.Results, jc)
	}
	return out, nil
}

func writeJSONFile(path string, r *runReport) error {
	j, err := r.toJSON()
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// readJSONFile reads a --json file back (compare, plot).
func readJSONFile(path string) (*jsonReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j jsonReport
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: not a ringbench JSON file: %w", path, err)
	}
	if j.Tool != "ringbench" {
		return nil, fmt.Errorf("%s: not a ringbench JSON file (tool %q)", path, j.Tool)
	}
	if j.Format != jsonFormat {
		return nil, fmt.Errorf("%s: JSON format %d, this ringbench reads format %d", path, j.Format, jsonFormat)
	}
	return &j, nil
}
