//go:build linux

package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/shmring/shmring/layout"
)

// Limits on flag values, so that a typo cannot fill /dev/shm or run for hours.
const (
	maxDuration  = 10 * time.Minute
	maxSlots     = 1 << 24
	maxLinkBytes = 1 << 30 // one ring, or one channel's buffers
	maxReps      = 1000
	maxRate      = 1e8
)

// runFlags are the run command's flags as given.
type runFlags struct {
	size        int
	sizes       string
	touch       string
	duration    time.Duration
	warmup      time.Duration
	count       uint64
	reps        int
	rate        float64
	transports  string
	workloads   string
	slots       int
	recordBytes int
	memfd       bool
	hugePages   bool
	chanCap     int
	linkBytes   int
	wait        string
	cpus        string
	fingerprint bool
	ceiling     bool
	jsonFile    string
	bench       bool
	hgrmDir     string
}

func (f *runFlags) register(fs *pflag.FlagSet) {
	sizeVar(fs, &f.size, "size", 64, fmt.Sprintf("message size in bytes, %d to %d, k, M and G suffixes allowed as in --sizes (one size; see --sizes)", minSize, maxSize))
	fs.StringVar(&f.sizes, "sizes", "", "comma-separated message sizes to sweep, e.g. 8,64,512,4096,65536,1048576,8388608 (k, M, G suffixes allowed: 64k, 8M);\n"+
		"mix:LO-HI is a mixed run, e.g. mix:64-64k: each message's length drawn log-uniformly from LO to HI bytes by its sequence number")
	fs.StringVar(&f.touch, "touch", touchAll, "what the ends do with each message: all (the sender writes every byte, the receiver checks every byte)\n"+
		"or ends (only the sequence number in the first and last 8 bytes: the transport's own cost, without the user's fill and check)")
	fs.DurationVar(&f.duration, "duration", 250*time.Millisecond, "measured time of each test")
	fs.DurationVar(&f.warmup, "warmup", 100*time.Millisecond, "unmeasured time before each test's measurement")
	fs.Uint64Var(&f.count, "count", 0, "throughput: send exactly this many messages per test instead of sending for --warmup + --duration;\n"+
		"the receiver still times from the first message to arrive --warmup after the first (from the first, in a shorter\n"+
		"stream) to the last, so it measures at most count-1 messages (latency tests keep --warmup + --duration)")
	fs.IntVar(&f.reps, "reps", 3, "repetitions of every test (interleaved); the report gives the median and the range")
	fs.Float64Var(&f.rate, "rate", 0, "fixed-rate latency: round trips per second, timed from the intended send time (adds the fixedrate workload; with --workloads, name it there)")
	fs.StringVar(&f.transports, "transports", "all", "comma-separated transports: "+strings.Join(transportOrder, ", ")+",\n"+
		"or all: "+strings.Join(baseTransports, ", ")+" (shmring and shmring-zc once per --wait); the record rings, shmring-rec and\n"+
		"shmring-rec-zc, are measured only when named")
	fs.StringVar(&f.workloads, "workloads", "", "comma-separated tests: throughput, pingpong, fixedrate, or all (default throughput,pingpong, and fixedrate with --rate)")
	fs.IntVar(&f.slots, "slots", 1<<12, "shmring slots, a power of two (lowered for large messages to fit --link-bytes)")
	fs.IntVar(&f.recordBytes, "record-bytes", 0, "shmring-rec rings' capacity in bytes, a power of two (0: the largest within 1/8 of the slot ring's memory, raised to hold two of the largest messages)")
	fs.BoolVar(&f.memfd, "memfd", false, "shmring rings in memfds (Options.Memfd), handed to the child as descriptors, instead of files in /dev/shm")
	fs.BoolVar(&f.hugePages, "hugepages", false, "shmring rings in memfds of huge pages (Options.HugePages; needs vm.nr_hugepages): skipped, with the reason, where there are none")
	fs.IntVar(&f.chanCap, "chancap", 1024, "Go channel capacity (lowered for large messages to fit --link-bytes)")
	fs.IntVar(&f.linkBytes, "link-bytes", 64<<20, "memory one ring or channel may take; sets the slot count for large messages (a ring keeps at least 2 slots, so messages over half of it take two: ring memory shows what each took)")
	fs.StringVar(&f.wait, "wait", "default", "comma-separated shmring wait strategies: default (spin, yield, then futex sleep), spin (never sleep), sleep (sleep at once)")
	fs.StringVar(&f.cpus, "cpus", "", "pin the parent's loop to CPU A and the peer's to CPU B, as A,B (sched_setaffinity on the loop's locked thread)")
	fs.BoolVar(&f.fingerprint, "fingerprint", true, "measure the core-to-core cache-line round trip before and after the runs")
	fs.BoolVar(&f.ceiling, "ceiling", false, "measure this machine's ceilings first (as ringbench limits does) and give every figure as a ratio to them, with a warning when a figure is past a ceiling (the probe was disturbed)")
	fs.StringVar(&f.jsonFile, "json", "", "write every figure, every repetition, the machine and the flags to this JSON file")
	fs.BoolVar(&f.bench, "bench", false, "print Go benchmark-format lines (for benchstat) on stdout; the table goes to stderr")
	fs.StringVar(&f.hgrmDir, "hgrm", "", "write HdrHistogram percentile files (.hgrm, values in µs) to this directory, which must exist")
}

// plan checks the flags and turns them into a plan; changed says whether a
// flag was given.
func (f *runFlags) plan(changed func(string) bool) (plan, error) {
	p := plan{reps: f.reps, fingerprint: f.fingerprint, ceiling: f.ceiling}
	// A list given with nothing in it ran the defaults, as if it had not
	// been given (black-box testers): it is refused.
	for _, l := range []struct{ name, value string }{
		{"transports", f.transports}, {"workloads", f.workloads}, {"sizes", f.sizes}, {"wait", f.wait},
	} {
		if changed(l.name) && strings.TrimSpace(l.value) == "" {
			return p, fmt.Errorf("--%s: empty: name what to run, or leave the flag out for its default", l.name)
		}
	}
	switch {
	case changed("size") && changed("sizes"):
		return p, fmt.Errorf("--size and --sizes: give one of them")
	case f.sizes != "":
		sizes, err := parseSizes(f.sizes)
		if err != nil {
			return p, err
		}
		p.sizes = sizes
	default:
		if err := checkSize("--size", f.size); err != nil {
			return p, err
		}
		p.sizes = []msgSize{fixedSize(f.size)}
	}
	if f.touch != touchAll && f.touch != touchEnds {
		return p, fmt.Errorf("--touch %q: want all or ends", f.touch)
	}
	if err := checkRun(f.duration, f.warmup, f.reps); err != nil {
		return p, err
	}
	if err := checkRate(f.rate, maxRate, !changed("rate")); err != nil {
		return p, err
	}
	switch {
	case f.count == 1:
		return p, fmt.Errorf("--count 1: want at least 2 messages (or 0 to send for a duration)")
	case f.slots < 2 || f.slots > maxSlots || f.slots&(f.slots-1) != 0:
		return p, fmt.Errorf("--slots %d: want a power of two from 2 to %d", f.slots, maxSlots)
	case f.chanCap < 1 || f.chanCap > maxSlots:
		return p, fmt.Errorf("--chancap %d: want 1 to %d", f.chanCap, maxSlots)
	case f.linkBytes < 1<<10 || f.linkBytes > maxLinkBytes:
		return p, fmt.Errorf("--link-bytes %d: want %d to %d", f.linkBytes, 1<<10, maxLinkBytes)
	}
	if err := checkRecordBytes(f.recordBytes, p.sizes); err != nil {
		return p, err
	}
	waits, err := parseWaits(f.wait)
	if err != nil {
		return p, err
	}
	cpus, err := parseCPUs(f.cpus)
	if err != nil {
		return p, err
	}
	p.cfg = config{
		duration: f.duration, warmup: f.warmup, count: f.count, rate: f.rate,
		slots: f.slots, chanCap: f.chanCap, linkBytes: f.linkBytes, recordBytes: f.recordBytes, cpus: cpus, touch: f.touch,
		memfd: f.memfd, hugePages: f.hugePages,
	}
	if p.transports, err = parseTransports(f.transports, waits); err != nil {
		return p, err
	}
	if p.workloads, err = parseWorkloads(f.workloads); err != nil {
		return p, err
	}
	switch {
	case f.rate > 0 && strings.TrimSpace(f.workloads) == "":
		p.workloads = append(p.workloads, fixedRate)
	case f.rate > 0 && !slices.Contains(p.workloads, fixedRate):
		// Taken and ignored, the run printed no fixed-rate table and
		// said nothing (a black-box tester).
		return p, fmt.Errorf("--rate paces the fixedrate workload, which --workloads %s leaves out: add fixedrate to it", f.workloads)
	}
	if slices.Contains(p.workloads, fixedRate) && f.rate == 0 {
		return p, fmt.Errorf("--workloads fixedrate needs --rate (round trips per second)")
	}
	return p, nil
}

// checkRecordBytes checks --record-bytes: 0, or a power of two within
// maxLinkBytes whose record ring carries the largest of sizes (a record
// ring carries up to Capacity/2 bytes).
func checkRecordBytes(n int, sizes []msgSize) error {
	if n == 0 {
		return nil
	}
	if n < 64 || n > maxLinkBytes || n&(n-1) != 0 {
		return fmt.Errorf("--record-bytes %d: want 0 (automatic) or a power of two from 64 to %d", n, maxLinkBytes)
	}
	for _, s := range sizes {
		if bound := int(layout.MaxRecordMessage(uint64(n))); s.max > bound {
			return fmt.Errorf("--record-bytes %d: carries messages up to %d bytes, not %d", n, bound, s.max)
		}
	}
	return nil
}

// checkRun checks the flags every measuring subcommand has.
func checkRun(duration, warmup time.Duration, reps int) error {
	switch {
	case duration <= 0 || duration > maxDuration:
		return fmt.Errorf("--duration %v: want more than 0 and at most %v", duration, maxDuration)
	case warmup < 0 || warmup > maxDuration:
		return fmt.Errorf("--warmup %v: want 0 to %v", warmup, maxDuration)
	case reps < 1 || reps > maxReps:
		return fmt.Errorf("--reps %d: want 1 to %d", reps, maxReps)
	}
	return nil
}

// checkRing checks a ring's --slots and --size, in bytes from min.
func checkRing(slots, size, min int, carries string) error {
	switch {
	case size < min || size > maxMultiSize:
		return fmt.Errorf("--size %d: want %d to %d bytes (a message carries %s)", size, min, maxMultiSize, carries)
	case slots < 2 || slots > maxSlots || slots&(slots-1) != 0:
		return fmt.Errorf("--slots %d: want a power of two from 2 to %d", slots, maxSlots)
	case slots*size > maxLinkBytes:
		return fmt.Errorf("--slots %d × --size %d: a ring over %d MiB", slots, size, maxLinkBytes>>20)
	}
	return nil
}

func checkSize(flag string, n int) error {
	if n < minSize || n > maxSize {
		return fmt.Errorf("%s %d: want %d to %d bytes (a message carries an 8-byte sequence number)", flag, n, minSize, maxSize)
	}
	return nil
}

// splitList splits a comma-separated flag value, each item trimmed. An
// empty item inside the list ("1,,2", "1,") is kept, as "", for the
// item's parser to refuse: silently dropped, it hid a typo. An empty value
// is no items.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	out := strings.Split(s, ",")
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

func parseWaits(list string) ([]string, error) {
	waits := splitList(list)
	for _, w := range waits {
		if !slices.Contains(waitNames, w) {
			return nil, fmt.Errorf("--wait %q: want default, spin or sleep", w)
		}
	}
	if len(waits) == 0 {
		return []string{"default"}, nil
	}
	return waits, nil
}

// parseCPUs reads "A,B"; "" is unpinned.
func parseCPUs(s string) ([2]int, error) {
	none := [2]int{-1, -1}
	if strings.TrimSpace(s) == "" {
		return none, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return none, fmt.Errorf("--cpus %q: want two CPU numbers, A,B (the parent's and the peer's)", s)
	}
	var cpus [2]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return none, fmt.Errorf("--cpus %q: %q is not a CPU number", s, p)
		}
		if !usableCPU(n) {
			return none, fmt.Errorf("--cpus %q: this process may not run on CPU %d", s, n)
		}
		cpus[i] = n
	}
	return cpus, nil
}
