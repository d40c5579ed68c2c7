//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/internal/report"
	"github.com/shmring/shmring/layout"
)

// Message sizes of the run command: the codec's smallest, and 64 MiB
// (large frames; pipes and sockets loop partial writes and reads).
const (
	minSize = codec.MinSize
	maxSize = 64 << 20
)

// config is what one measurement needs; the run command fills it from
// the flags, one message size at a time.
type config struct {
	size      int           // bytes per message; with minSize, the largest
	minSize   int           // 0, or the smallest message of a mixed run (see msgSize)
	touch     string        // touchAll or touchEnds ("" is touchAll)
	duration  time.Duration // measured part of each test
	warmup    time.Duration // unmeasured part before it
	count     uint64        // throughput: messages to send; 0 sends for warmup+duration
	minCount  uint64        // no workload stops before (tests: a fault at message k must be reached)
	rate      float64       // fixedrate: messages per second
	slots     int           // ring slots (fewer for large messages: see ringSlots)
	chanCap   int           // Go channel capacity (fewer for large messages)
	linkBytes int           // memory one ring or channel slab may take
	// recordBytes is a record ring's capacity; 0: see recordCapacity.
	recordBytes int
	memfd       bool       // rings in memfds, handed to the child as descriptors (--memfd)
	hugePages   bool       // rings in memfds of huge pages (--hugepages; implies memfd)
	cpus        [2]int     // CPUs of the parent's and the peer's loop; -1: unpinned
	wrap        func(*end) // tests: changes the parent's end to inject faults
}

// ringSlots is the ring's slot count for this size: --slots, lowered to a
// power of two that keeps the ring within linkBytes, at least 2.
func (c config) ringSlots() int {
	n := c.slots
	for n > 2 && n*c.size > c.linkBytes {
		n /= 2
	}
	return n
}

// recordCapacity is a record ring's capacity for this size: recordBytes
// if given, else the largest power of two within 1/8 of the slot ring's
// bytes (ringSlots × size), raised to the least that holds two records of
// size bytes, so that the producer fills one while the consumer reads the
// other (a record ring carries up to Capacity/2: one such message).
func (c config) recordCapacity() int {
	if c.recordBytes > 0 {
		return c.recordBytes
	}
	n := 64
	for n*2 <= c.ringSlots()*c.size/8 {
		n *= 2
	}
	for uint64(n) < 2*layout.RecordSize(uint32(c.size)) {
		n *= 2
	}
	return n
}

// chanSlots is the channel capacity for this size, within linkBytes.
func (c config) chanSlots() int {
	n := c.chanCap
	if fit := c.linkBytes/c.size - 2; n > fit {
		n = max(fit, 1)
	}
	return n
}

// peerConfig is the part of config a peer needs; a child gets it as JSON.
type peerConfig struct {
	Size    int           `json:"size"`
	MinSize int           `json:"min_size,omitempty"` // a mixed run's smallest message
	Touch   string        `json:"touch,omitempty"`
	Warmup  time.Duration `json:"warmup"`
	CPU     int           `json:"cpu"`             // -1: unpinned
	Rings   []string      `json:"rings,omitempty"` // see link.rings
}

func (c config) peer() peerConfig {
	return peerConfig{Size: c.size, MinSize: c.minSize, Touch: c.touch, Warmup: c.warmup, CPU: c.cpus[1]}
}

// withSize is c for messages of size s.
func (c config) withSize(s msgSize) config {
	c.size, c.minSize = s.max, 0
	if s.mixed() {
		c.minSize = s.min
	}
	return c
}

// msg is the run's message size as --sizes gave it.
func (c config) msg() msgSize {
	if c.minSize == 0 {
		return fixedSize(c.size)
	}
	return msgSize{c.minSize, c.size}
}

func (c config) shape() (shape, error) { return newShape(c.size, c.minSize, c.touch) }

func (pc peerConfig) shape() (shape, error) { return newShape(pc.Size, pc.MinSize, pc.Touch) }

// peerGrace bounds how long a run may take beyond warmup+duration (child
// start, handshake, drain, exit) before the watchdog kills the child.
const peerGrace = 30 * time.Second

// measurement is what one run of one workload over one transport found:
// for throughput, the messages the parent sent and those the peer received
// in its measurement window (and their bytes), which lasted elapsed on the
// peer's clock; for round trips, the times of those recorded after the
// warm-up (rtt: "round trips" everywhere means these) and how many were made
// in all, warm-up included (what the counters span); and the counters of the
// parent's end's handles and the peer's.
type measurement struct {
	sent, measured, bytes        uint64
	elapsed                      time.Duration
	rtt                          *hdrhistogram.Histogram
	roundTripsTotal              uint64 // warm-up included: divide only counters by it
	parentCounters, peerCounters []medium.Counter
}

// roundTrips is how many round trips were recorded (after the warm-up).
func (m *measurement) roundTrips() uint64 { return uint64(m.rtt.TotalCount()) }

// rate is the throughput in messages per second.
func (m *measurement) rate() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.measured) / m.elapsed.Seconds()
}

// byteRate is the throughput in bytes per second.
func (m *measurement) byteRate() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.bytes) / m.elapsed.Seconds()
}

func (m *measurement) hist() *hdrhistogram.Histogram { return m.rtt }

// measure runs w over tr once, with the peer in a child process (or a
// goroutine for an in-process transport). Whatever happens, the peer is gone
// and everything the transport created is removed when it returns.
func measure(ctx context.Context, tr transport, w workload, cfg config) (m *measurement, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.warmup+cfg.duration+peerGrace)
	defer cancel()
	l, err := tr.open(ctx, w, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s %s size=%s: set up: %w", tr.name(), w, cfg.msg().label(), err)
	}
	sh, err := cfg.shape()
	if err != nil {
		return nil, errors.Join(err, l.parent.close(), unlink(l))
	}
	pc := cfg.peer()
	pc.Rings = l.rings
	spec := peerSpec{name: "child", role: tr.name() + ":" + string(w), cfg: pc, files: l.files}
	if l.local != nil {
		spec.name = "peer goroutine"
		spec.local = func(gate func() error) (any, error) { return runLocalPeer(l.local, w, pc, gate) }
	}
	c, err := startCrew(ctx, cancel, []peerSpec{spec}, func() error { return unlink(l) })
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tr.name(), w, errors.Join(err, l.parent.close(), unlink(l)))
	}
	ep := l.parent
	defer func() {
		// In this order: tell the peer the stream is over, make sure it is
		// gone, then release our end and any name still there.
		cerr := errors.Join(ep.closeSend(), func() error { c.stop(); return nil }(), ep.close(), unlink(l))
		if err == nil && cerr != nil {
			m, err = nil, fmt.Errorf("%s %s: clean up: %w", tr.name(), w, cerr)
		}
	}()
	if cfg.wrap != nil {
		cfg.wrap(ep)
	}
	m = &measurement{}
	unpin, err := pinThread(cfg.cpus[0])
	if err != nil {
		return nil, err
	}
	defer unpin()
	var perr error
	var count uint64 // messages the parent sent
	if w == throughput {
		m.sent, perr = sendFor(c.ctx, ep, sh, cfg.warmup+cfg.duration, cfg.count, cfg.minCount)
		count = m.sent
	} else {
		if m.rtt = report.NewHist(); w == pingpong {
			cfg.rate = 0 // back to back
		}
		m.roundTripsTotal, perr = pingFor(c.ctx, ep, sh, cfg.rate, cfg.warmup, cfg.duration, cfg.minCount, m.rtt)
		count = m.roundTripsTotal
	}
	perr = errors.Join(perr, ep.closeSend())
	res, rerr := results[peerResult](c)
	switch {
	case perr != nil || rerr != nil:
	case res[0].Received != count:
		rerr = fmt.Errorf("%w: parent sent %d messages, peer received %d", codec.ErrIntegrity, count, res[0].Received)
	case w.twoWay() && m.rtt.TotalCount() == 0:
		rerr = errors.New("no round trip finished after the warm-up: raise --duration")
	}
	if perr != nil || rerr != nil {
		// The peer's account first: it is usually the cause (a corrupted
		// message seen by the child shows here as a broken pipe).
		return nil, fmt.Errorf("%s %s size=%s: %w", tr.name(), w, cfg.msg().label(), errors.Join(prefixErr("peer", rerr), prefixErr("parent", perr)))
	}
	m.measured, m.bytes, m.elapsed = res[0].Measured, res[0].Bytes, time.Duration(res[0].ElapsedNs)
	m.parentCounters, m.peerCounters = ep.counters(), res[0].Counters
	return m, nil
}

// runLocalPeer is the peer's side of w in a goroutine; if it fails, it
// drains the link until the parent closes, so the parent never blocks
// (a message of another length than buf's, in a mixed run, is drained too).
func runLocalPeer(e *end, w workload, pc peerConfig, gate func() error) (res peerResult, err error) {
	defer func() {
		if err != nil {
			e.closeSend()
			buf := make([]byte, pc.Size)
			for {
				if err := e.r.Recv(buf); err != nil && !errors.Is(err, codec.ErrIntegrity) {
					break
				}
			}
		}
		e.close()
	}()
	return runPeer(e, w, pc, gate)
}

// runPeerChild is a run child: role is "<transport>:<workload>".
func runPeerChild(role string, stdout io.Writer) (err error) {
	trName, wName, _ := strings.Cut(role, ":")
	tr, ok := registry[trName]
	if !ok {
		return fmt.Errorf("role %q: unknown transport %q", role, trName)
	}
	w := workload(wName)
	if !slices.Contains(workloads, w) {
		return fmt.Errorf("role %q: unknown workload %q", role, wName)
	}
	var pc peerConfig
	if err := childConfig(&pc, func() int { return pc.Size }, minSize); err != nil {
		return err
	}
	e, err := tr.attach(w, pc)
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	defer func() { err = errors.Join(err, e.close()) }()
	res, err := runPeer(e, w, pc, childGate(stdout))
	if err != nil {
		return err // exiting closes our ends: the parent sees it
	}
	if err := e.closeSend(); err != nil {
		return err
	}
	return printResult(stdout, res)
}

// unlink runs l.unlink once; later calls do nothing.
func unlink(l *link) error {
	f := l.unlink
	l.unlink = nil
	if f == nil {
		return nil
	}
	return f()
}

// prefixErr says which side an error comes from, keeping it matchable with
// errors.Is.
func prefixErr(side string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", side, err)
}
