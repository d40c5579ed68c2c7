//go:build linux

// Package limits measures what this machine can physically do, the
// ceilings ringbench compares the ring with: the round trip of one cache
// line between two cores, a minimal SPSC ring of plain stores (publishing
// each message, and publishing once per 64), memcpy
// bandwidth, a futex ping-pong and a pipe round trip. Each in Go, and in C
// when a C compiler is present (csrc/limits.c, built at run time), so that
// the Go figures can be told apart from the runtime's own cost.
//
// When not to use this: as a benchmark of the machine. Each probe runs for
// a fraction of a second and reports a median: what the ring could at best
// reach here and now, not what the hardware is rated for.
package limits

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The references, by name.
const (
	CacheLine = "cache-line round trip"    // ns per round trip, median
	SPSC      = "spsc ring, plain stores"  // messages per second, 8-byte values
	SPSCBatch = "spsc ring, batches of 64" // the same, each index published once per 64 messages
	Memcpy    = "memcpy 1 MiB"             // bytes per second
	Futex     = "futex ping-pong"          // ns per round trip, median
	Pipe      = "pipe round trip"          // ns per round trip, 64-byte messages, median
)

// Names lists the references in the order they are measured and printed;
// Keys are their short names, as csrc/limits.c's probes and benchmark keys.
var (
	Names = []string{CacheLine, SPSC, SPSCBatch, Memcpy, Futex, Pipe}
	Keys  = []string{"cacheline", "spsc", "spsc64", "memcpy", "futex", "pipe"}
	units = map[string]string{CacheLine: "ns", SPSC: "msg/s", SPSCBatch: "msg/s", Memcpy: "B/s", Futex: "ns", Pipe: "ns"}
)

// A Ref is one reference figure.
type Ref struct {
	Name  string  `json:"name"`
	Lang  string  `json:"lang"` // "go" or "c"
	Value float64 `json:"value"`
	Unit  string  `json:"unit"` // "ns", "msg/s" or "B/s"
}

// Set is the references of one measurement.
type Set []Ref

// Get returns the reference called name in lang, if measured.
func (s Set) Get(name, lang string) (Ref, bool) {
	i := slices.IndexFunc(s, func(r Ref) bool { return r.Name == name && r.Lang == lang })
	if i < 0 {
		return Ref{}, false
	}
	return s[i], true
}

// String prints the figure in its unit.
func (r Ref) String() string {
	switch {
	case r.Unit == "ns" && r.Value < 1e3:
		return fmt.Sprintf("%.0f ns", r.Value)
	case r.Unit == "ns":
		return fmt.Sprintf("%.2f µs", r.Value/1e3)
	case r.Unit == "msg/s":
		return fmt.Sprintf("%.1f M msg/s", r.Value/1e6)
	case r.Unit == "B/s":
		return fmt.Sprintf("%.1f GB/s", r.Value/1e9)
	}
	return fmt.Sprintf("%g %s", r.Value, r.Unit)
}

// MeasureGo runs every Go probe for about d each. Once ctx is done the
// probe running stops at its next sample and MeasureGo returns ctx's error.
func MeasureGo(ctx context.Context, d time.Duration) (Set, error) {
	var s Set
	w := window{ctx, d}
	if rtt, ok := cacheLineRTT(w); ok {
		s = append(s, Ref{CacheLine, "go", float64(rtt.Nanoseconds()), "ns"})
	}
	for i, run := range []func(window) (float64, error){spscRate, spscBatchRate, memcpyRate, futexRTT, pipeRTT} {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		name := Names[i+1]
		v, err := run(w)
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		s = append(s, Ref{name, "go", v, units[name]})
	}
	return s, ctx.Err()
}

// Measure runs the Go probes and, with withC, the C ones; note says why
// the C probes did not run ("" when they did). Once ctx is done it stops
// the probe running (a C probe or the compiler is killed, the temporary
// directory removed) and returns ctx's error: a C probe cut short is not
// a missing compiler, to be noted and gone past.
func Measure(ctx context.Context, d time.Duration, withC bool) (s Set, note string, err error) {
	if s, err = MeasureGo(ctx, d); err != nil || !withC {
		return s, "C probes not run (--c=false)", err
	}
	c, err := MeasureC(ctx, d)
	switch {
	case ctx.Err() != nil:
		return s, "", ctx.Err()
	case err != nil:
		return s, fmt.Sprintf("C probes not run: %v", err), nil
	}
	return append(s, c...), "", nil
}

// median of xs, which it sorts.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

//go:embed csrc/limits.c
var cSource []byte

// CC is the C compiler: $CC, else cc.
func CC() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "cc"
}

// MeasureC builds csrc/limits.c into a temporary directory and runs each
// probe for about d. It fails when there is no C compiler.
func MeasureC(ctx context.Context, d time.Duration) (Set, error) {
	cc, err := exec.LookPath(CC())
	if err != nil {
		return nil, fmt.Errorf("no C compiler (%s): %w", CC(), err)
	}
	dir, err := os.MkdirTemp("", "ringbench-limits-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	src, bin := filepath.Join(dir, "limits.c"), filepath.Join(dir, "limits")
	if err := os.WriteFile(src, cSource, 0o600); err != nil {
		return nil, err
	}
	if out, err := command(ctx, cc, "-O2", "-pthread", "-o", bin, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", cc, err, strings.TrimSpace(string(out)))
	}
	var s Set
	for i, probe := range Keys {
		v, err := runC(ctx, bin, probe, d)
		if err != nil {
			return s, err
		}
		s = append(s, Ref{Names[i], "c", v, units[Names[i]]})
	}
	return s, nil
}

// runC runs one probe and reads its RESULT line.
func runC(ctx context.Context, bin, probe string, d time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute) // a hang guard
	defer cancel()
	var stderr strings.Builder
	cmd := command(ctx, bin, probe, strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("probe %s of limits.c: %w: %s", probe, err, strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, errors.New("probe " + probe + " of limits.c printed no RESULT line")
}
