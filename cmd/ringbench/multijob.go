//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shmring/shmring/ring"
)

// One measurement of the mpmc subcommand: a workload, a medium, a shape.

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
	workload   string // mpThroughput or mpRoundTrip
	medium     string // mediumProcs, mediumGoroutines or mediumChan
	kind       string // ring kind: mpmc, mpsc or spsc (for chan: mpsc means one reply channel per client)
	producers  int    // producers, or round-trip clients
	consumers  int    // consumers, or round-trip servers
	size       int
	slots      int // ring slots and channel capacity
	duration   time.Duration
	warmup     time.Duration    // round trip: unrecorded start of each client's run
	faults     map[string]fault // tests: role -> fault for that role's worker 0
	afterReady func()           // tests: called once every worker is ready
}

// mpOutcome is what one measurement found.
type mpOutcome struct {
	received uint64        // throughput: messages received by all consumers
	elapsed  time.Duration // throughput: first consumer's first message to last consumer's end of stream
	trips    uint64        // round trip: round trips completed
	rtt      *hdrhistogram.Histogram
}

func (o *mpOutcome) rate() float64 {
	if o.elapsed <= 0 {
		return 0
	}
	return float64(o.received) / o.elapsed.Seconds()
}

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
			if i == 0 {
				w.Fault = j.faults[w.Role]
			}
			ws = append(ws, w)
		}
	}
	return ws
}

// mpRings are the rings a job created, by name.
type mpRings map[string]*ring.Ring

func (rs mpRings) closeAndRemove() error {
	var errs []error
	for name, r := range rs {
		errs = append(errs, r.Close())
		if err := ring.Remove(name); err != nil && !errors.Is(err, ring.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeNames removes the rings' names: once every child has attached, the
// mappings live on without them, and a parent killed later leaves nothing
// in /dev/shm.
func (rs mpRings) removeNames() error {
	var errs []error
	for name := range rs {
		if err := ring.Remove(name); err != nil && !errors.Is(err, ring.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// createRings makes the job's rings and the layout that names them.
func (j mpJob) createRings() (lay mpLayout, rs mpRings, err error) {
	lay.Kind = j.kind
	rs = mpRings{}
	defer func() {
		if err != nil {
			err = errors.Join(err, rs.closeAndRemove())
		}
	}()
	create := func(tag, kind string, producers, consumers int) (string, error) {
		k, err := ringKind(kind)
		if err != nil {
			return "", err
		}
		o := ring.Options{Kind: k, SlotSize: j.size, Slots: j.slots}
		switch k {
		case ring.MPMC:
			o.MaxProducers, o.MaxConsumers = producers, consumers
		case ring.MPSC:
			o.MaxProducers, o.MaxConsumers = producers, 1
		}
		name := fmt.Sprintf("ringbench-%d-%d-%s", os.Getpid(), ringSeq.Add(1), tag)
		r, err := ring.Create(name, o)
		if err != nil {
			return "", fmt.Errorf("create %s ring %s: %w", kind, name, err)
		}
		rs[name] = r
		return name, nil
	}
	if j.workload == mpThroughput {
		lay.Data, err = create("mp-data", j.kind, j.producers, j.consumers)
		return lay, rs, err
	}
	if lay.Req, err = create("mp-req", j.kind, j.producers, j.consumers); err != nil {
		return lay, rs, err
	}
	if j.kind == "mpsc" { // one consumer per ring: a reply ring per client
		for i := range j.producers {
			name, err := create(fmt.Sprintf("mp-reply%d", i), "spsc", 1, 1)
			if err != nil {
				return lay, rs, err
			}
			lay.Replies = append(lay.Replies, name)
		}
		return lay, rs, nil
	}
	lay.Reply, err = create("mp-reply", j.kind, j.consumers, j.producers)
	return lay, rs, err
}

// runMPJob runs one measurement and checks what arrived.
func runMPJob(ctx context.Context, j mpJob) (_ *mpOutcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, j.warmup+j.duration+peerGrace)
	defer cancel()
	var results []mpResult
	if j.medium == mediumChan {
		m := newChanMedium(j.size, j.slots, j.producers, j.producers, j.kind == "mpsc")
		results, err = runLocalWorkers(m, cancel, j.workers(mpLayout{Kind: "chan"}))
	} else {
		lay, rs, cerr := j.createRings()
		if cerr != nil {
			return nil, cerr
		}
		defer func() { err = errors.Join(err, rs.closeAndRemove()) }()
		if j.medium == mediumGoroutines {
			m := newRingMedium(ctx, lay, rs)
			results, err = runLocalWorkers(m, cancel, j.workers(lay))
		} else {
			results, err = runMPProcs(ctx, j.workers(lay), rs, j.afterReady)
		}
	}
	if err != nil {
		return nil, err
	}
	return j.evaluate(results)
}

// runMPProcs runs the workers as child processes.
func runMPProcs(ctx context.Context, ws []mpWorker, rs mpRings, afterReady func()) ([]mpResult, error) {
	specs := make([]childSpec, len(ws))
	names := make([]string, len(ws))
	for i, w := range ws {
		specs[i] = childSpec{role: roleMPWorker, cfg: w}
		names[i] = fmt.Sprintf("%s %d (child process)", w.Role, w.Index)
	}
	ch, err := startChildren(ctx, specs, names)
	if err != nil {
		return nil, err
	}
	defer ch.stop()
	if err := rs.removeNames(); err != nil {
		return nil, err
	}
	if afterReady != nil {
		afterReady()
	}
	if err := ch.release(); err != nil {
		return nil, err
	}
	lines, err := ch.results()
	if err != nil {
		return nil, err
	}
	results := make([]mpResult, len(lines))
	for i, line := range lines {
		if err := jsonUnmarshal(line, &results[i]); err != nil {
			return nil, fmt.Errorf("%s sent a bad result line %q: %w", names[i], line, err)
		}
	}
	return results, nil
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
		o.rtt = newRTTHistogram()
		for _, c := range byRole["client"] {
			h, err := decodeHist(c.Hist)
			if err != nil {
				return nil, fmt.Errorf("client %d: %w", c.Index, err)
			}
			o.rtt.Merge(h)
			o.trips += c.Received
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

// probeKind says why rings of kind cannot be measured in this build (an
// engine not built in), or nil.
func probeKind(kind string) error {
	k, err := ringKind(kind)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("ringbench-%d-%d-probe", os.Getpid(), ringSeq.Add(1))
	r, err := ring.Create(name, ring.Options{Kind: k, SlotSize: mmHeader, Slots: 2, MaxProducers: 1, MaxConsumers: 1})
	if err != nil {
		return err
	}
	defer ring.Remove(name)
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return err
	}
	return p.Close()
}
