//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"github.com/shmring/shmring/ring"
)

// Workloads of the mpmc subcommand.
const (
	mpThroughput = "throughput"
	mpRoundTrip  = "roundtrip"
)

// Media of the mpmc subcommand.
const (
	mediumProcs      = "processes"  // ring; every worker a child process
	mediumGoroutines = "goroutines" // ring; every worker a goroutine of this process
	mediumChan       = "chan"       // one shared Go channel; goroutines
)

// mpJob is one measurement.
type mpJob struct {
	workload  string // mpThroughput or mpRoundTrip
	medium    string // mediumProcs, mediumGoroutines or mediumChan
	kind      string // ring kind: mpmc, mpsc or spsc (for chan: mpsc means one reply channel per client)
	producers int    // producers, or round-trip clients
	consumers int    // consumers, or round-trip servers
	size      int
	slots     int // ring slots and channel capacity
	duration  time.Duration
	warmup    time.Duration    // round trip: unrecorded start of each client's run
	faults    map[string]fault // tests: role -> fault for that role's worker 0
}

// mpOutcome is what one measurement found.
type mpOutcome struct {
	received uint64        // throughput: messages received by all consumers
	elapsed  time.Duration // throughput: first consumer's first message to last consumer's end of stream
	// round trip: the times of those recorded after the warm-up (their
	// count is the round trips), and how many were made, warm-up included
	rtt        *hdrhistogram.Histogram
	tripsTotal uint64
}

func (o *mpOutcome) rate() float64 {
	if o.elapsed <= 0 {
		return 0
	}
	return float64(o.received) / o.elapsed.Seconds()
}

func (o *mpOutcome) hist() *hdrhistogram.Histogram { return o.rtt }

// workers lists the job's workers over the rings of lay.
func (j mpJob) workers(lay mpLayout) []mpWorker {
	roles := [2]string{"producer", "consumer"}
	if j.workload == mpRoundTrip {
		roles = [2]string{"client", "server"}
	}
	var ws []mpWorker
	for side, n := range []int{j.producers, j.consumers} {
		for i := range n {
			w := mpWorker{Role: roles[side], Index: i, Producers: j.producers, Consumers: j.consumers,
				Size: j.size, Duration: j.duration, Warmup: j.warmup, Layout: lay}
			// A sending fault goes to the first sender. A receiving one
			// goes to every receiver, and each sender sends enough that
			// some receiver reaches it however the ring shares the
			// messages out: a loaded machine may give one receiver all.
			if i == 0 || side == 1 {
				w.Fault = j.faults[w.Role]
			}
			if f := j.faults[roles[1]]; side == 0 && f.Kind != "" {
				w.MinSend = (f.At + 1) * uint64(j.consumers)
			}
			ws = append(ws, w)
		}
	}
	return ws
}

// runMPJob runs one measurement and checks what arrived.
func runMPJob(ctx context.Context, j mpJob) (_ *mpOutcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, j.warmup+j.duration+peerGrace)
	defer cancel()
	rs := medium.NewRings(ctx, ring.DefaultWait)
	defer func() { err = errors.Join(err, rs.Close()) }()
	m, err := j.open(rs)
	if err != nil {
		return nil, err
	}
	ws := j.workers(m.lay)
	specs := make([]peerSpec, len(ws))
	for i, w := range ws {
		specs[i] = peerSpec{name: fmt.Sprintf("%s %d (child process)", w.Role, w.Index), role: roleMPWorker, cfg: w}
		if j.medium != mediumProcs {
			specs[i].name = fmt.Sprintf("%s %d", w.Role, w.Index)
			specs[i].local = func(gate func() error) (any, error) { return runWorker(m, w, gate) }
		}
	}
	c, err := startCrew(ctx, cancel, specs, rs.RemoveNames)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	res, err := results[mpResult](c)
	if err != nil {
		return nil, err
	}
	return j.evaluate(res)
}

// evaluate checks the workers' reports against each other and sums them.
func (j mpJob) evaluate(results []mpResult) (*mpOutcome, error) {
	byRole := map[string][]mpResult{}
	for _, r := range results {
		byRole[r.Role] = append(byRole[r.Role], r)
	}
	o := &mpOutcome{}
	if j.workload == mpRoundTrip {
		if err := checkRoundTrips(byRole["client"], byRole["server"]); err != nil {
			return nil, err
		}
		o.rtt = report.NewHist()
		for _, c := range byRole["client"] {
			h, err := report.Decode(c.Hist)
			if err != nil {
				return nil, fmt.Errorf("client %d: %w", c.Index, err)
			}
			o.rtt.Merge(h)
			o.tripsTotal += c.Received
		}
		return o, nil
	}
	if err := checkExactlyOnce(byRole["producer"], byRole["consumer"]); err != nil {
		return nil, err
	}
	var first, end int64
	for _, c := range byRole["consumer"] {
		o.received += c.Received
		if c.Received > 0 && (first == 0 || c.FirstNs < first) {
			first = c.FirstNs
		}
		end = max(end, c.EndNs)
	}
	if first > 0 {
		o.elapsed = time.Duration(end - first)
	}
	return o, nil
}
