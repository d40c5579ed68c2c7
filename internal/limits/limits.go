//go:build linux

// Package limits measures what this machine can physically do, the
// ceilings ringbench compares the ring with, in the same run: the round
// trip of one cache line between two cores, a minimal SPSC ring of plain
// stores, memcpy bandwidth, a futex ping-pong (both sides sleep every turn)
// and a pipe round trip. Each is measured in Go, and in C when a C compiler
// is present (from csrc/limits.c, built at run time), so that the Go
// figures can be told apart from the runtime's own cost.
//
// When not to use this: as a benchmark of the machine. Each probe runs for
// a fraction of a second and reports a median; it tells what the ring could
// at best reach here and now, not what the hardware is rated for.
package limits

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The references, by name.
const (
	CacheLine = "cache-line round trip"   // ns per round trip, median
	SPSC      = "spsc ring, plain stores" // messages per second, 8-byte values
	Memcpy    = "memcpy 1 MiB"            // bytes per second
	Futex     = "futex ping-pong"         // ns per round trip, median
	Pipe      = "pipe round trip"         // ns per round trip, 64-byte messages, median
)

// Names lists the references in the order they are measured and printed.
var Names = []string{CacheLine, SPSC, Memcpy, Futex, Pipe}

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
	for _, r := range s {
		if r.Name == name && r.Lang == lang {
			return r, true
		}
	}
	return Ref{}, false
}

// String prints the figure in its unit.
func (r Ref) String() string {
	switch r.Unit {
	case "ns":
		return fmtNs(r.Value)
	case "msg/s":
		return fmt.Sprintf("%.1f M msg/s", r.Value/1e6)
	case "B/s":
		return fmt.Sprintf("%.1f GB/s", r.Value/1e9)
	}
	return fmt.Sprintf("%g %s", r.Value, r.Unit)
}

func fmtNs(ns float64) string {
	if ns < 1e3 {
		return fmt.Sprintf("%.0f ns", ns)
	}
	return fmt.Sprintf("%.2f µs", ns/1e3)
}

// MeasureGo runs every Go probe for about d each.
func MeasureGo(d time.Duration) (Set, error) {
	var s Set
	if rtt, ok := CacheLineRTT(d); ok {
		s = append(s, Ref{CacheLine, "go", float64(rtt.Nanoseconds()), "ns"})
	}
	probes := []struct {
		name, unit string
		run        func(time.Duration) (float64, error)
	}{
		{SPSC, "msg/s", spscRate},
		{Memcpy, "B/s", memcpyRate},
		{Futex, "ns", futexRTT},
		{Pipe, "ns", pipeRTT},
	}
	for _, p := range probes {
		v, err := p.run(d)
		if err != nil {
			return s, fmt.Errorf("%s: %w", p.name, err)
		}
		s = append(s, Ref{p.name, "go", v, p.unit})
	}
	return s, nil
}

// Measure runs the Go probes and, when a C compiler is found, the C ones;
// note says why the C probes did not run ("" when they did).
func Measure(ctx context.Context, d time.Duration) (s Set, note string, err error) {
	if s, err = MeasureGo(d); err != nil {
		return s, "", err
	}
	c, err := MeasureC(ctx, d)
	if err != nil {
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
