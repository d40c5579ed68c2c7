//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/shmring/shmring/internal/limits"
)

// The frames command: the frame job's comparison in one run (issue 12).
// Five sections, each an ordinary run plan (bench) over the transports
// that exist in this build, then the ratios the acceptance asks for.

// framesFlags are the frames command's flags as given.
type framesFlags struct {
	duration, warmup time.Duration
	reps             int
	frame, mix, rtt  string
	recordBytes      int
	linkBytes        int
	fingerprint      bool
}

// framesTransports are the transports of every section, in the order
// they are printed; those this build lacks are left out.
var framesTransports = []string{"shmring", "shmring-zc", "shmring-rec", "shmring-rec-zc", "pipe", "unix"}

// A framesSection is one table of the frames command.
type framesSection struct {
	key, title string
	size       msgSize
	workload   workload
	touch      string
	only       []string // transports, if not all of framesTransports
	huge       bool     // rings in memfds of huge pages
	rep        *runReport
}

func newFramesCmd(stdout, stderr io.Writer) *cobra.Command {
	var f framesFlags
	cmd := command("frames", "The frame job: mixed sizes, 8 MiB frames copying and zero-copy against memcpy, 64 KiB round trips",
		"ringbench frames runs, in one go, the comparison of the frame job:\n"+
			"  mixed:  throughput of messages of mixed sizes (--mix, default 64 B–64 KiB, log-uniform by sequence number,\n"+
			"          every byte written and checked), record ring vs slot ring (sized for the largest message) vs pipe vs\n"+
			"          unix socket, with each ring's memory;\n"+
			"  frames: throughput of --frame frames (default 8 MiB) with --touch=ends: the sender writes only the sequence\n"+
			"          number at both ends of the frame and the receiver checks only those, so the figure is the transport's\n"+
			"          own cost: for Send/Recv two copies of the frame, for zero-copy (ClaimN/Commit, Receive/Release) the ring's\n"+
			"          claim, publish, wait and release. Beside it Go's memcpy of one frame, measured in the same run, from one\n"+
			"          buffer to another (in the cache where they fit, as a C memcpy benchmark), and from one buffer into\n"+
			"          the slot ring's number of frame buffers in turn (its footprint: from memory where it exceeds the cache),\n"+
			"          and out of them in turn (Recv's copy: its source comes from memory where they exceed the cache);\n"+
			"  frames-huge: the frames section's rings again, in memfds of huge pages (Options.HugePages): skipped, saying so,\n"+
			"          where the machine has none (vm.nr_hugepages);\n"+
			"  fill:   the zero-copy frames again with every byte written in the slot and checked in place (--touch=all):\n"+
			"          what a user's fill and read add;\n"+
			"  rtt:    round trips of --rtt messages (default 64 KiB) vs pipe and unix socket.\n"+
			"The ratios at the end: Send/Recv frame bytes/s over memcpy bytes/s; the zero-copy time per frame (1/throughput)\n"+
			"over the time of one memcpy of the frame; the record ring's mixed throughput and memory over the slot ring's;\n"+
			"the median round trip over a pipe's and a unix socket's.",
		cobra.NoArgs, func(cmd *cobra.Command, _ []string) error { return runFrames(&f, stdout, stderr) })
	fs := cmd.Flags()
	fs.DurationVar(&f.duration, "duration", 500*time.Millisecond, "measured time of each test")
	fs.DurationVar(&f.warmup, "warmup", 200*time.Millisecond, "unmeasured time before each test's measurement")
	fs.IntVar(&f.reps, "reps", 3, "repetitions of every test (interleaved); the tables give the median")
	fs.StringVar(&f.frame, "frame", "8M", "frame size of the frames and fill sections")
	fs.StringVar(&f.mix, "mix", "64-64k", "the mixed section's sizes, LO-HI (log-uniform)")
	fs.StringVar(&f.rtt, "rtt", "64k", "message size of the round-trip section")
	fs.IntVar(&f.recordBytes, "record-bytes", 0, "record rings' capacity in bytes, a power of two (0: per section, the largest within 1/8 of the slot ring's memory, raised to hold two of the largest messages)")
	fs.BoolVar(&f.fingerprint, "fingerprint", true, "measure the core-to-core cache-line round trip before and after the runs")
	fs.IntVar(&f.linkBytes, "link-bytes", 64<<20, "memory a slot ring may take (sets its slot count for large messages; a ring keeps at least 2 slots, so messages over half of it take two)")
	return cmd
}

// sections checks the flags and lays out the run.
func (f *framesFlags) sections() (config, []*framesSection, error) {
	var cfg config
	if err := checkRun(f.duration, f.warmup, f.reps); err != nil {
		return cfg, nil, err
	}
	frame, err := parseSize(f.frame)
	if err != nil {
		return cfg, nil, fmt.Errorf("--frame: %w", err)
	}
	rtt, err := parseSize(f.rtt)
	if err != nil {
		return cfg, nil, fmt.Errorf("--rtt: %w", err)
	}
	mixed, err := parseMix(f.mix)
	if err != nil {
		return cfg, nil, fmt.Errorf("--mix %q: %w", f.mix, err) // it named --sizes and mix:, which frames has not (a black-box tester)
	}
	mix := []msgSize{mixed}
	switch {
	case f.linkBytes < 1<<10 || f.linkBytes > maxLinkBytes:
		return cfg, nil, fmt.Errorf("--link-bytes %d: want %d to %d", f.linkBytes, 1<<10, maxLinkBytes)
	}
	if err := checkRecordBytes(f.recordBytes, []msgSize{mix[0], fixedSize(frame), fixedSize(rtt)}); err != nil {
		return cfg, nil, err
	}
	cfg = config{duration: f.duration, warmup: f.warmup, slots: 1 << 12, chanCap: 1024,
		linkBytes: f.linkBytes, recordBytes: f.recordBytes, cpus: [2]int{-1, -1}}
	return cfg, []*framesSection{
		{key: "mixed", title: "mixed sizes, throughput, every byte written and checked", size: mix[0], workload: throughput, touch: touchAll},
		{key: "frames", title: "frames, throughput, the transport's own cost (--touch=ends)", size: fixedSize(frame), workload: throughput, touch: touchEnds},
		{key: "frames-huge", title: "frames, throughput, the transport's own cost (--touch=ends), rings in memfds of huge pages", size: fixedSize(frame),
			workload: throughput, touch: touchEnds, huge: true, only: []string{"shmring", "shmring-zc", "shmring-rec", "shmring-rec-zc"}},
		{key: "fill", title: "frames, throughput, every byte written in the slot and checked in place (--touch=all)", size: fixedSize(frame),
			workload: throughput, touch: touchAll, only: []string{"shmring-zc", "shmring-rec-zc"}},
		{key: "rtt", title: "round trip, every byte written and checked, echoed", size: fixedSize(rtt), workload: pingpong, touch: touchAll},
	}, nil
}

// runFrames measures every section and prints the tables and the ratios.
func runFrames(f *framesFlags, stdout, stderr io.Writer) error {
	cfg, secs, err := f.sections()
	if err != nil {
		return err
	}
	frame := secs[1].size.max
	var mc memcpys
	slots := cfg.withSize(secs[1].size).ringSlots()
	probe := func(i int) (err error) {
		if mc.hot[i], err = limits.MemcpyRate(frame, 250*time.Millisecond); err != nil {
			return err
		}
		if mc.over[i], err = limits.MemcpyRateOver(frame, slots, 250*time.Millisecond); err != nil {
			return err
		}
		if mc.pair[i], err = limits.MemcpyRatePair(frame, slots, 250*time.Millisecond); err != nil {
			return err
		}
		mc.outOf[i], err = limits.MemcpyRateOutOf(frame, slots, 250*time.Millisecond)
		return err
	}
	mc.slots = slots
	err = interruptible(stderr, func(ctx context.Context) error {
		if f.fingerprint {
			mc.before, _ = limits.CacheLineRTT(fingerprintTime) // 0 with one CPU: not printed
		}
		if err := probe(0); err != nil {
			return err
		}
		for _, s := range secs {
			p := plan{cfg: cfg, sizes: []msgSize{s.size}, reps: f.reps, workloads: []workload{s.workload}}
			p.cfg.touch, p.cfg.hugePages = s.touch, s.huge
			for _, n := range transportOrder {
				if _, ok := registry[n]; ok && slices.Contains(framesTransports, n) && (s.only == nil || slices.Contains(s.only, n)) {
					p.transports = append(p.transports, registry[n])
				}
			}
			if s.rep, err = bench(ctx, p, sectionProgress{newProgress(stderr, p), s.key}); err != nil {
				return err
			}
		}
		if mc.before > 0 {
			mc.after, _ = limits.CacheLineRTT(fingerprintTime)
		}
		return probe(1)
	})
	if err != nil {
		return err
	}
	writeFrames(stdout, cfg, secs, mc)
	return nil
}

// sectionProgress names the frames section in each progress line: the
// frames and frames-huge sections measure the same cells, and a line
// without its section read as the same test twice (a black-box tester).
type sectionProgress struct {
	progress
	section string
}

func (s sectionProgress) step(desc string) { s.progress.step(s.section + ": " + desc) }

// memcpys are the frames command's memcpy references, before and after
// the runs: one frame buffer to another, into slots buffers in turn, that
// by two copiers at once (what one of them gets: Send and Recv are two
// copies running together), and out of slots buffers in turn (Recv's
// copy, whose source comes from memory).
type memcpys struct {
	hot, over, pair, outOf [2]float64 // bytes per second
	slots                  int
	before, after          time.Duration // the placement's fingerprints (writePlacement)
}

// memcpyRefs are the references the ratios use: the higher of each pair.
type memcpyRefs struct{ hot, over, pair, outOf float64 }

func (m memcpys) best() memcpyRefs {
	b := func(x [2]float64) float64 { return max(x[0], x[1]) }
	return memcpyRefs{b(m.hot), b(m.over), b(m.pair), b(m.outOf)}
}
