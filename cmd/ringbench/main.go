package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if role, ok := childRole(); ok {
		os.Exit(childMain(role, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags.
type options struct {
	cfg         config
	transports  []transport
	workloads   []workload
	fingerprint bool
}

// Limits on flag values, so that a typo cannot fill /dev/shm or run for hours.
const (
	maxDuration  = 10 * time.Minute
	maxSlots     = 1 << 24
	maxLinkBytes = 1 << 30 // ring slots × size, or channel buffers × size
)

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("ringbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.Int("size", 64, fmt.Sprintf("message size in bytes, %d to %d", minSize, maxSize))
	duration := fs.Duration("duration", time.Second, "measured time of each test (each transport has a throughput and a round-trip test)")
	warmup := fs.Duration("warmup", 250*time.Millisecond, "unmeasured time before each test's measurement")
	transports := fs.String("transports", "all", "comma-separated transports to measure: "+strings.Join(available(), ", ")+", or all")
	workloadList := fs.String("workloads", "all", "comma-separated tests: throughput, pingpong, or all")
	slots := fs.Int("slots", 1<<12, "shmring slots (a power of two)")
	chanCap := fs.Int("chancap", 1024, "Go channel capacity")
	wait := fs.String("wait", "default", "shmring wait strategy: default (spin, then yield, then sleep on a futex) or spin (never sleep)")
	fingerprint := fs.Bool("fingerprint", true, "measure the core-to-core cache-line round trip before and after the runs")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ringbench [flags]\n\n"+
			"Measures throughput and round-trip latency of the shmring ring beside a pipe,\n"+
			"a unix socket, TCP loopback (across two processes) and a Go channel (in one process).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	bad := func(format string, a ...any) (options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintf(stderr, "ringbench: %v\n", err)
		return options{}, err
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q (all settings are flags; see -h)", fs.Arg(0))
	}
	switch {
	case *size < minSize || *size > maxSize:
		return bad("-size %d: want %d to %d bytes (a message carries an 8-byte sequence number)", *size, minSize, maxSize)
	case *duration <= 0 || *duration > maxDuration:
		return bad("-duration %v: want more than 0 and at most %v", *duration, maxDuration)
	case *warmup < 0 || *warmup > maxDuration:
		return bad("-warmup %v: want 0 to %v", *warmup, maxDuration)
	case *slots < 2 || *slots > maxSlots || *slots&(*slots-1) != 0:
		return bad("-slots %d: want a power of two from 2 to %d", *slots, maxSlots)
	case *chanCap < 1 || *chanCap > maxSlots:
		return bad("-chancap %d: want 1 to %d", *chanCap, maxSlots)
	case *wait != "default" && *wait != "spin":
		return bad("-wait %q: want default or spin", *wait)
	}
	o := options{
		cfg: config{
			size: *size, duration: *duration, warmup: *warmup,
			slots: *slots, chanCap: *chanCap, spin: *wait == "spin",
		},
		fingerprint: *fingerprint,
	}
	var err error
	if o.transports, err = parseTransports(*transports); err != nil {
		return bad("%v", err)
	}
	if o.workloads, err = parseWorkloads(*workloadList); err != nil {
		return bad("%v", err)
	}
	for _, t := range o.transports {
		var n int
		switch t.name() {
		case "shmring":
			n = o.cfg.slots
		case "chan":
			n = o.cfg.chanCap + 2
		default:
			continue
		}
		if bytes := int64(n) * int64(o.cfg.size); bytes > maxLinkBytes {
			return bad("%s would need %d MiB for %d buffers of %d bytes (limit %d MiB): lower -slots/-chancap or -size",
				t.name(), bytes>>20, n, o.cfg.size, maxLinkBytes>>20)
		}
	}
	return o, nil
}

// run is the tool: it returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, o, stderr)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(stderr, "ringbench: interrupted; the child was stopped and its ring files removed")
		return 130
	}
	if err != nil {
		fmt.Fprintf(stderr, "ringbench: FAILED: %v\n", err)
		return 1
	}
	rep.write(stdout)
	return 0
}

// bench measures every selected transport and workload, in order, and stops
// at the first failure. Progress goes to progress.
func bench(ctx context.Context, o options, progress io.Writer) (*report, error) {
	rep := &report{mach: describeMachine(), cfg: o.cfg}
	const fingerprintTime = 100 * time.Millisecond
	if o.fingerprint {
		rep.before, _ = coreFingerprint(fingerprintTime)
	}
	for _, tr := range o.transports {
		rw := row{tr: tr}
		for _, w := range o.workloads {
			fmt.Fprintf(progress, "ringbench: measuring %s %s ...\n", tr.name(), w)
			m, err := measure(ctx, tr, w, o.cfg)
			if err != nil {
				return nil, err
			}
			if w == throughput {
				rw.tp = m
			} else {
				rw.pp = m
			}
		}
		rep.rows = append(rep.rows, rw)
	}
	if o.fingerprint && rep.before > 0 {
		rep.after, _ = coreFingerprint(fingerprintTime)
	}
	return rep, nil
}
