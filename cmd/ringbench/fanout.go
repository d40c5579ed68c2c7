//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/ring"
)

// The broadcast subcommand: one producer, N reader processes, each reading
// every message; over a broadcast ring and over one unix stream socket per
// reader, in one run.

// Media of the broadcast subcommand.
const (
	fanRing = "ring"
	fanUnix = "unix"
)

type fanFlags struct {
	readers  string
	policy   string
	size     int
	slots    int
	duration time.Duration
	rate     float64
}

func (f *fanFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.readers, "readers", "1,2,4", "comma-separated reader counts, each measured in turn")
	fs.StringVar(&f.policy, "policy", "lossless", "ring readers' policy: lossless (they gate the producer), lossy (they never do; an overrun reader is told how many it missed) or mixed (even readers lossless, odd lossy)")
	fs.IntVar(&f.size, "size", 64, fmt.Sprintf("message size in bytes, %d to %d", mmHeader, maxMultiSize))
	fs.IntVar(&f.slots, "slots", 4096, "broadcast ring slots, a power of two")
	fs.DurationVar(&f.duration, "duration", 250*time.Millisecond, "how long the producer publishes in each test")
	fs.Float64Var(&f.rate, "rate", 20000, "messages per second of the paced latency pass (each stamped with its intended send time, so readers\n"+
		"that keep up show wake-up and copy cost, not queueing); 0 skips the pass")
}

// fanPlan is what the flags ask for.
type fanPlan struct {
	readers  []int
	policy   string
	size     int
	slots    int
	duration time.Duration
	rate     float64 // the paced pass's messages per second; 0: none
}

func (f *fanFlags) plan() (fanPlan, error) {
	p := fanPlan{policy: f.policy, size: f.size, slots: f.slots, duration: f.duration, rate: f.rate}
	switch {
	case f.policy != "lossless" && f.policy != "lossy" && f.policy != "mixed":
		return p, fmt.Errorf("--policy %q: want lossless, lossy or mixed", f.policy)
	case f.size < mmHeader || f.size > maxMultiSize:
		return p, fmt.Errorf("--size %d: want %d to %d bytes (a message carries sequence number, checksum and send time)", f.size, mmHeader, maxMultiSize)
	case f.slots < 2 || f.slots > maxSlots || f.slots&(f.slots-1) != 0:
		return p, fmt.Errorf("--slots %d: want a power of two from 2 to %d", f.slots, maxSlots)
	case f.slots*f.size > maxLinkBytes:
		return p, fmt.Errorf("--slots %d × --size %d: a ring over %d MiB", f.slots, f.size, maxLinkBytes>>20)
	case f.duration <= 0 || f.duration > maxDuration:
		return p, fmt.Errorf("--duration %v: want more than 0 and at most %v", f.duration, maxDuration)
	case f.rate < 0 || f.rate > 1e7:
		return p, fmt.Errorf("--rate %v: want 0 (no paced pass) to 10000000 messages per second", f.rate)
	}
	for _, s := range strings.Split(f.readers, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxWorkers {
			return p, fmt.Errorf("--readers: %q: want reader counts from 1 to %d", s, maxWorkers)
		}
		if !containsInt(p.readers, n) {
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
		if i%2 == 0 {
			return "lossless"
		}
		return "lossy"
	}
	return policy
}

// fanJob is one measurement.
type fanJob struct {
	medium   string // fanRing or fanUnix
	readers  int
	policy   string // the plan's: lossless, lossy or mixed (unix: always lossless)
	size     int
	slots    int
	duration time.Duration
	// rate paces the producer (messages per second, each stamped with
	// its intended send time); 0 publishes flat out.
	rate float64
	// Tests: a fault for the producer and one for reader 0.
	producerFault, readerFault fault
}

// fanOutcome is what one measurement found.
type fanOutcome struct {
	published uint64
	elapsed   time.Duration // the producer's publishing time
	readers   []fanReaderResult
	lat       *hdrhistogram.Histogram // every reader's, merged
}

func (o *fanOutcome) rate() float64 {
	if o.elapsed <= 0 {
		return 0
	}
	return float64(o.published) / o.elapsed.Seconds()
}

// runFanJob starts the readers, publishes for the job's duration, closes
// the stream and checks what each reader got.
func runFanJob(ctx context.Context, j fanJob) (_ *fanOutcome, err error) {
	ctx, cancel := context.WithTimeout(ctx, j.duration+peerGrace)
	defer cancel()
	specs := make([]childSpec, j.readers)
	names := make([]string, j.readers)
	for i := range specs {
		c := fanReaderConfig{Index: i, Medium: j.medium, Policy: policyOf(j.policy, i), Size: j.size}
		if j.medium == fanUnix {
			c.Policy = "lossless"
		}
		if i == 0 {
			c.Fault = j.readerFault
		}
		specs[i] = childSpec{role: roleFanReader, cfg: c}
		names[i] = fmt.Sprintf("%s reader %d (child process)", c.Policy, i)
	}
	var sink fanSink
	var removeName func() error
	switch j.medium {
	case fanRing:
		name := fmt.Sprintf("ringbench-%d-%d-bcast", os.Getpid(), ringSeq.Add(1))
		r, err := ring.Create(name, ring.Options{Kind: ring.Broadcast, SlotSize: j.size, Slots: j.slots, MaxReaders: j.readers})
		if err != nil {
			return nil, fmt.Errorf("create broadcast ring %s: %w", name, err)
		}
		removeName = func() error {
			if err := ring.Remove(name); err != nil && !errors.Is(err, ring.ErrNotExist) {
				return err
			}
			return nil
		}
		defer func() { err = errors.Join(err, r.Close(), removeName()) }()
		p, err := r.Producer()
		if err != nil {
			return nil, fmt.Errorf("ring=%s: producer: %w", name, err)
		}
		sink = &ringSink{ctx: ctx, p: p}
		for i := range specs {
			cfg := specs[i].cfg.(fanReaderConfig)
			cfg.Ring = name
			specs[i].cfg = cfg
		}
	case fanUnix:
		ss := &sockSink{}
		defer func() { err = errors.Join(err, ss.close()) }()
		for i := range specs {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				for _, s := range specs[:i] {
					closeFiles(s.files)
				}
				return nil, os.NewSyscallError("socketpair", err)
			}
			ss.ends = append(ss.ends, newFDEnd(-1, fds[0], nil))
			specs[i].files = []*os.File{os.NewFile(uintptr(fds[1]), "reader-socket")}
		}
		sink = ss
		removeName = func() error { return nil }
	default:
		return nil, fmt.Errorf("unknown medium %q", j.medium)
	}
	ch, err := startChildren(ctx, specs, names)
	if err != nil {
		return nil, err
	}
	defer ch.stop()
	if err := removeName(); err != nil {
		return nil, err
	}
	type results struct {
		lines []string
		err   error
	}
	done := make(chan results, 1)
	go func() {
		lines, err := ch.results()
		done <- results{lines, err}
	}()
	o := &fanOutcome{}
	perr := j.publish(ch.ctx, sink, o)
	perr = errors.Join(perr, sink.close())
	res := <-done
	if res.err != nil { // a reader's failure explains the producer's
		return nil, res.err
	}
	if perr != nil {
		return nil, fmt.Errorf("producer: %w", perr)
	}
	o.lat = newRTTHistogram()
	for i, line := range res.lines {
		var rr fanReaderResult
		if err := jsonUnmarshal(line, &rr); err != nil {
			return nil, fmt.Errorf("%s sent a bad result line %q: %w", names[i], line, err)
		}
		h, err := decodeHist(rr.Hist)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		o.lat.Merge(h)
		o.readers = append(o.readers, rr)
	}
	return o, checkFanout(o)
}

// publish sends stamped messages for the job's duration, each with its
// send time, and stops early when a reader failed (ctx done).
func (j fanJob) publish(ctx context.Context, sink fanSink, o *fanOutcome) error {
	msg := make([]byte, j.size)
	start := time.Now()
	deadline := start.Add(j.duration).UnixNano()
	var seq uint64
	defer func() {
		o.published = seq
		o.elapsed = time.Since(start)
	}()
	for ; ; seq++ {
		now := time.Now().UnixNano()
		if j.rate > 0 { // paced: stamp the time it was due, so a late send counts against it
			due := start.Add(time.Duration(float64(seq) * float64(time.Second) / j.rate))
			waitYielding(due)
			now = due.UnixNano()
		}
		if now >= deadline && !j.producerFault.due(seq) && !j.readerFault.due(seq) || ctx.Err() != nil { // the clock is read for every message's send time anyway
			return nil
		}
		stampMulti(msg, 0, seq, now)
		j.producerFault.flip(seq, msg)
		for range j.producerFault.copies(seq) {
			if err := sink.send(msg); err != nil {
				return fmt.Errorf("publish message %d: %w", seq, err)
			}
		}
	}
}

// waitYielding waits until t, giving the CPU to other processes while it
// does: with more reader processes than cores, a producer spinning in
// between messages would keep the readers it is measuring off the CPU.
func waitYielding(t time.Time) {
	for time.Now().Before(t) {
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// checkFanout: a lossless reader got every message published, a lossy one
// got or was told it missed every one.
func checkFanout(o *fanOutcome) error {
	for _, r := range o.readers {
		switch {
		case r.Unreported > 0:
			return fmt.Errorf("%w: %s reader %d skipped %d messages no lap reported", errIntegrity, r.Policy, r.Index, r.Unreported)
		case r.Policy == "lossless" && r.Received != o.published:
			return fmt.Errorf("%w: lossless reader %d received %d of %d messages published", errIntegrity, r.Index, r.Received, o.published)
		case r.Received+r.Missed != o.published:
			return fmt.Errorf("%w: lossy reader %d received %d and was told it missed %d: %d, but %d were published",
				errIntegrity, r.Index, r.Received, r.Missed, r.Received+r.Missed, o.published)
		}
	}
	return nil
}

// fanCell is one medium at one reader count.
type fanCell struct {
	job     fanJob
	out     *fanOutcome
	skipped string
}

// fanReport is what the broadcast subcommand found.
type fanReport struct {
	mach  machine
	plan  fanPlan
	cells []*fanCell
}

func runFanPlan(ctx context.Context, p fanPlan, prog progress) (*fanReport, error) {
	rep := &fanReport{mach: describeMachine(), plan: p}
	skip := ""
	if err := probeBroadcast(); err != nil {
		skip = fmt.Sprintf("broadcast rings cannot be measured in this build: %v", err)
	}
	rates := []float64{0}
	if p.rate > 0 {
		rates = append(rates, p.rate)
	}
	for _, n := range p.readers {
		for _, rate := range rates {
			for _, m := range []string{fanRing, fanUnix} {
				c := &fanCell{job: fanJob{medium: m, readers: n, policy: p.policy, size: p.size, slots: p.slots, duration: p.duration, rate: rate}}
				if m == fanRing {
					c.skipped = skip
				}
				rep.cells = append(rep.cells, c)
			}
		}
	}
	for _, c := range rep.cells {
		if c.skipped != "" {
			continue
		}
		pace := "flat out"
		if c.job.rate > 0 {
			pace = fmt.Sprintf("paced at %.0f/s", c.job.rate)
		}
		prog.step(fmt.Sprintf("%d reader(s) over %s, %d-byte messages, %s", c.job.readers, fanLabel(c.job), p.size, pace))
		o, err := runFanJob(ctx, c.job)
		if err != nil {
			return nil, fmt.Errorf("%d readers over %s: %w", c.job.readers, fanLabel(c.job), err)
		}
		c.out = o
	}
	prog.done()
	return rep, nil
}

// probeBroadcast says why broadcast rings cannot be measured here, or nil.
func probeBroadcast() error {
	if !bcastBuilt {
		return errors.New("no Ring.Reader (the broadcast engine is not merged)")
	}
	name := fmt.Sprintf("ringbench-%d-%d-probe", os.Getpid(), ringSeq.Add(1))
	r, err := ring.Create(name, ring.Options{Kind: ring.Broadcast, SlotSize: mmHeader, Slots: 2, MaxReaders: 1})
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

func fanLabel(j fanJob) string {
	if j.medium == fanUnix {
		return fmt.Sprintf("unix sockets ×%d", j.readers)
	}
	return fmt.Sprintf("broadcast ring (%s)", j.policy)
}

func newFanoutCmd(stdout, stderr io.Writer) *cobra.Command {
	var f fanFlags
	cmd := &cobra.Command{
		Use:   "broadcast",
		Short: "Measure a broadcast ring: one producer, N reader processes, beside one unix socket per reader",
		Long: "ringbench broadcast measures fan-out from one producer (this process) to N reader child processes,\n" +
			"for each reader count (1, 2, 4 by default), in one run: over a broadcast ring (each reader lossless,\n" +
			"lossy or mixed) and over one unix stream socket per reader, the producer writing every message to each.\n" +
			"It reports the producer's messages per second flat out, each reader's received count, lag, laps and\n" +
			"missed messages, and, from a second pass paced at --rate, reader latency percentiles (the time each\n" +
			"message was due, embedded in it, to its receive time; HDR, merged over readers). Lossless readers check every sequence number in order and every checksum; lossy\n" +
			"readers check order and checksum, and that received + missed == published; a failed check exits 1.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.plan()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := runFanPlan(ctx, p, lineProgress{stderr})
			if err != nil && ctx.Err() != nil {
				return errInterrupted
			}
			if err != nil {
				return failure{err}
			}
			rep.write(stdout)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
