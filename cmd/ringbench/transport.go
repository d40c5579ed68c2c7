//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// An endpoint is one side's end of a link. Every call moves exactly one whole
// message: no transport batches messages behind the caller's back.
type endpoint interface {
	// send sends msg as one message; it blocks while the link is full.
	send(msg []byte) error
	// recv fills buf with exactly one message of len(buf) bytes. It returns
	// io.EOF, and nothing else, when the peer closed its sending side
	// cleanly between messages.
	recv(buf []byte) error
	// closeSend tells the peer that no more messages follow (it then reads
	// io.EOF). It is a no-op on an end that does not send.
	closeSend() error
	// close releases everything the end holds; it is safe after closeSend.
	close() error
}

// A zeroCopier is an endpoint that also lends its own memory, so that a
// message is written and read where the transport keeps it (a ring slot):
// claim returns n bytes to write the next message into and commit sends
// them; lease returns the next message in place (io.EOF at the end of the
// stream) and release frees it. The loops use it when an endpoint has it.
type zeroCopier interface {
	claim(n int) ([]byte, error)
	commit(n int) error
	lease() ([]byte, error)
	release()
}

// errUnsupported marks a transport that cannot carry a run as configured
// (a message larger than the kernel lets a queue hold); the run is skipped
// with the reason, not failed.
var errUnsupported = errors.New("not supported here")

// A counterSource is an endpoint that can report transport-specific counters
// (the ring's sleeps and wakes) after a run.
type counterSource interface {
	counters() []counter
}

// A counter is one named figure a transport reports.
type counter struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
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

// latency says whether the workload records times in a histogram.
func (w workload) latency() bool { return w != throughput }

// A link is what transport.open hands the parent for one run.
type link struct {
	parent endpoint // the parent's end

	// local is the peer's end when the peer runs in this process (a
	// goroutine); nil when the peer is a child process.
	local endpoint

	// files are inherited by the child as descriptors 3, 4, …; the parent
	// closes them once the child has started.
	files []*os.File
	// env holds KEY=VALUE pairs the child needs to attach (ring names).
	env []string

	// unlink removes the names by which the peer finds the link (ring
	// files). measure calls it once, as soon as the peer has attached (the
	// mappings live on without the names), or when the run fails before
	// that, so a parent killed mid-run leaves nothing behind in /dev/shm.
	// May be nil.
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
	// inherited descriptors and the environment.
	attach(ctx context.Context, w workload, cfg peerConfig) (endpoint, error)
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
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		list = strings.Join(baseTransports, ",")
	}
	if len(waits) == 0 {
		waits = []string{"default"}
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
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
				if slices.Contains(transportOrder, n) {
					return nil, fmt.Errorf("--transports: transport %q is not built into this binary (available: %s)", n, strings.Join(available(), ", "))
				}
				return nil, fmt.Errorf("--transports: unknown transport %q (available: %s)", n, strings.Join(available(), ", "))
			}
			want[n] = true
		}
	}
	var ts []transport
	for _, n := range transportOrder {
		if want[n] {
			ts = append(ts, registry[n])
		}
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("--transports: no transport named (available: %s)", strings.Join(available(), ", "))
	}
	return ts, nil
}

// parseWorkloads turns the -workloads value into workloads, in a fixed order.
func parseWorkloads(list string) ([]workload, error) {
	list = strings.TrimSpace(list)
	if list == "" {
		return []workload{throughput, pingpong}, nil
	}
	if list == "all" {
		return workloads, nil
	}
	want := map[workload]bool{}
	for _, n := range strings.Split(list, ",") {
		w := workload(strings.TrimSpace(n))
		if w == "" {
			continue
		}
		if !slices.Contains(workloads, w) {
			return nil, fmt.Errorf("--workloads: unknown workload %q (want throughput, pingpong, fixedrate or all)", w)
		}
		want[w] = true
	}
	var ws []workload
	for _, w := range workloads {
		if want[w] {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("--workloads: no workload named (want throughput, pingpong, fixedrate or all)")
	}
	return ws, nil
}
