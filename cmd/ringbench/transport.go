//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/shmring/shmring/internal/medium"
)

// An end is one side's handles on a link: s sends (nil if this side
// does not), r receives (nil likewise), zeroCopy says to use their
// zero-copy path, and closers release what the handles do not own.
type end struct {
	s        medium.Sender
	r        medium.Receiver
	zeroCopy bool
	closers  []func() error
}

// closeSend tells the peer that no more messages follow (it then reads
// io.EOF); a no-op on an end that does not send.
func (e *end) closeSend() error {
	if e.s == nil {
		return nil
	}
	return e.s.Close() // idempotent
}

// close releases everything the end holds; it is safe after closeSend.
func (e *end) close() error {
	errs := []error{e.closeSend()}
	if e.r != nil {
		errs = append(errs, e.r.Close())
	}
	for _, c := range e.closers {
		errs = append(errs, c())
	}
	e.s, e.r, e.closers = nil, nil, nil
	return errors.Join(errs...)
}

// counters are the handles' own counters (a ring's sleeps and wakes).
func (e *end) counters() []medium.Counter {
	var cs []medium.Counter
	for _, h := range []any{e.s, e.r} {
		if c, ok := h.(medium.Counted); ok {
			cs = append(cs, c.Counters()...)
		}
	}
	return cs
}

// A workload is what the two ends do with a link.
type workload string

const (
	throughput workload = "throughput" // parent sends for a duration, peer receives and counts
	pingpong   workload = "pingpong"   // parent sends one message, peer echoes it, repeat
	fixedRate  workload = "fixedrate"  // ping-pong on a schedule, timed from the intended send
)

var workloads = []workload{throughput, pingpong, fixedRate}

// twoWay says whether the peer answers (the link needs a way back).
func (w workload) twoWay() bool { return w != throughput }

// A link is what transport.open hands the parent for one run.
type link struct {
	parent *end
	// local is the peer's end when the peer runs in this process (a
	// goroutine); nil when the peer is a child process.
	local *end
	// files are inherited by the child as descriptors 3, 4, …; the parent
	// closes them once the child has started.
	files []*os.File
	// rings names the rings the child opens: the one it receives from,
	// then (two-way) the one it sends into.
	rings []string
	// unlink removes the names by which the peer finds the link (ring
	// files). measure calls it once the peer has attached (the mappings
	// live on without the names), or when the run fails before that, so a
	// parent killed mid-run leaves nothing behind in /dev/shm. May be nil.
	unlink func() error
}

// A transport creates links of one kind.
type transport interface {
	// name is the short name --transports uses.
	name() string
	// describe says in a few words what one message costs on it.
	describe(cfg config) string
	// open, in the parent, creates a link for w. ctx is cancelled when the
	// peer is gone; a blocking call of the parent's end must return when it is.
	open(ctx context.Context, w workload, cfg config) (*link, error)
	// attach, in the child, builds the child's end of the link for w from
	// inherited descriptors and pc.
	attach(w workload, pc peerConfig) (*end, error)
}

// transportOrder is the order in which transports are measured and printed;
// the first one present is the base of the ratios.
var transportOrder = []string{
	"shmring", "shmring-zc", "shmring-spin", "shmring-zc-spin", "shmring-sleep", "shmring-zc-sleep",
	"pipe", "mq", "unix", "unixgram", "tcp", "chan",
}

// baseTransports are what "all" means; the shmring ones are measured once
// per --wait strategy.
var baseTransports = []string{"shmring", "shmring-zc", "pipe", "mq", "unix", "unixgram", "tcp", "chan"}

var registry = map[string]transport{}

// register makes t available to --transports; transports call it from init.
func register(t transport) {
	if _, dup := registry[t.name()]; dup {
		panic("ringbench: transport registered twice: " + t.name())
	}
	registry[t.name()] = t
}

// available lists the registered transports in transportOrder.
func available() []string {
	var names []string
	for _, n := range transportOrder {
		if _, ok := registry[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

// parseTransports turns the --transports value into transports, in
// transportOrder, without duplicates. "shmring" and "shmring-zc" stand for
// one variant per wait strategy in waits ("default", "spin", "sleep").
func parseTransports(list string, waits []string) ([]transport, error) {
	if list = strings.TrimSpace(list); list == "" || list == "all" {
		list = strings.Join(baseTransports, ",")
	}
	if len(waits) == 0 {
		waits = []string{"default"}
	}
	var want []string
	for _, n := range splitList(list) {
		if n == "ring" {
			n = "shmring"
		}
		names := []string{n}
		if n == "shmring" || n == "shmring-zc" {
			names = names[:0]
			for _, w := range waits {
				names = append(names, ringName(n == "shmring-zc", w))
			}
		}
		for _, n := range names {
			if _, ok := registry[n]; !ok {
				what := "unknown transport %q"
				if slices.Contains(transportOrder, n) {
					what = "transport %q is not built into this binary"
				}
				return nil, fmt.Errorf("--transports: "+what+" (available: %s)", n, strings.Join(available(), ", "))
			}
			want = append(want, n)
		}
	}
	var ts []transport
	for _, n := range transportOrder {
		if slices.Contains(want, n) {
			ts = append(ts, registry[n])
		}
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("--transports: no transport named (available: %s)", strings.Join(available(), ", "))
	}
	return ts, nil
}

// parseWorkloads turns the --workloads value into workloads, in a fixed order.
func parseWorkloads(list string) ([]workload, error) {
	switch list = strings.TrimSpace(list); list {
	case "":
		return []workload{throughput, pingpong}, nil
	case "all":
		return workloads, nil
	}
	names := splitList(list)
	var ws []workload
	for _, n := range names {
		if !slices.Contains(workloads, workload(n)) {
			return nil, fmt.Errorf("--workloads: unknown workload %q (want throughput, pingpong, fixedrate or all)", n)
		}
	}
	for _, w := range workloads {
		if slices.Contains(names, string(w)) {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("--workloads: no workload named (want throughput, pingpong, fixedrate or all)")
	}
	return ws, nil
}
