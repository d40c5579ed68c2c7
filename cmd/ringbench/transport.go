//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/shmring/shmring/internal/codec"
	"github.com/shmring/shmring/internal/medium"
)

// An end is one side's handles on a link: s sends and r receives (nil if
// this side does not), zeroCopy says to use their zero-copy path, and
// closers release what the handles do not own.
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
	local  *end       // the peer's end when the peer is a goroutine
	files  []*os.File // the child's descriptors 3, 4, …; closed once it started
	rings  []string   // the rings the child opens: the one it receives from, then the one it sends into
	// unlink removes the names the peer finds the link by, once it has
	// attached (the mappings live on) or the run failed: a parent killed
	// mid-run leaves nothing in /dev/shm. May be nil.
	unlink func() error
}

// A transport creates links of one kind.
type transport interface {
	name() string               // the name --transports uses
	describe(cfg config) string // what one message costs on it, in a few words
	// open, in the parent, creates a link for w; a blocking call of the
	// parent's end returns once ctx (cancelled when the peer is gone) is done.
	open(ctx context.Context, w workload, cfg config) (*link, error)
	// attach, in the child, builds its end from inherited descriptors and pc.
	attach(w workload, pc peerConfig) (*end, error)
}

// transportOrder is the order in which transports are measured and
// printed, the first one present the base of the ratios; baseTransports
// are what "all" means (the shmring ones once per --wait strategy).
var (
	transportOrder = []string{
		"shmring", "shmring-zc", "shmring-spin", "shmring-zc-spin", "shmring-sleep", "shmring-zc-sleep",
		"shmring-rec", "shmring-rec-zc",
		"pipe", "mq", "unix", "unixgram", "tcp", "chan",
	}
	baseTransports = []string{"shmring", "shmring-zc", "pipe", "mq", "unix", "unixgram", "tcp", "chan"}
)

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
				return nil, fmt.Errorf("--transports: unknown transport %q (available: %s)", n, strings.Join(transportOrder, ", "))
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
		return nil, fmt.Errorf("--transports: no transport named (available: %s)", strings.Join(transportOrder, ", "))
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

// sender and receiver move codec messages (stamped and verified as their
// shape says) over an end, through its zero-copy path when it has one:
// written straight into the ring slot and verified in place.

type sender struct {
	s   medium.Sender
	zc  medium.ZeroCopySender // nil: copy through msg
	sh  shape
	msg []byte
}

func newSender(e *end, sh shape) *sender {
	s := &sender{s: e.s, sh: sh, msg: make([]byte, sh.size)}
	if e.zeroCopy {
		s.zc, _ = e.s.(medium.ZeroCopySender)
	}
	return s
}

// send sends message number seq.
func (s *sender) send(seq uint64) error {
	n := s.sh.len(seq)
	if s.zc == nil {
		s.sh.put(s.msg[:n], seq)
		return s.s.Send(s.msg[:n])
	}
	b, err := s.zc.Claim(n)
	if err != nil {
		return err
	}
	s.sh.put(b, seq)
	return s.zc.Commit(len(b))
}

type receiver struct {
	e   *end
	zc  medium.ZeroCopyReceiver // nil: copy into buf
	zs  medium.ZeroCopySender   // the way back of an echo, zero-copy
	sh  shape
	buf []byte
}

func newReceiver(e *end, sh shape) *receiver {
	r := &receiver{e: e, sh: sh, buf: make([]byte, sh.size)}
	if e.zeroCopy {
		r.zc, _ = e.r.(medium.ZeroCopyReceiver)
		r.zs, _ = e.s.(medium.ZeroCopySender)
	}
	return r
}

// lease is message want: in place, or copied into buf.
func (r *receiver) lease(want uint64) ([]byte, error) {
	n := r.sh.len(want)
	var m []byte
	var err error
	if r.zc == nil {
		m, err = r.buf[:n], r.e.r.Recv(r.buf[:n])
	} else {
		m, err = r.zc.Lease()
	}
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, fmt.Errorf("receive message %d: %w", want, err)
	}
	if len(m) != n {
		r.release()
		return nil, fmt.Errorf("%w: message %d is %d bytes, want %d", codec.ErrIntegrity, want, len(m), n)
	}
	return m, nil
}

func (r *receiver) release() {
	if r.zc != nil {
		r.zc.Release()
	}
}

// recv receives message number want and checks it; with echo it sends it
// back, on the zero-copy path from the incoming slot to the outgoing one
// (one copy, the least an echo over two rings can do). It returns the
// message's length, and io.EOF (unwrapped) at the end of the stream.
func (r *receiver) recv(want uint64, echo bool) (int, error) {
	m, err := r.lease(want)
	if err != nil {
		return 0, err
	}
	defer r.release()
	if err := r.sh.verify(m, want); err != nil || !echo {
		return len(m), err
	}
	if r.zs == nil || r.zc == nil {
		err = r.e.s.Send(m)
	} else if out, cerr := r.zs.Claim(len(m)); cerr != nil {
		err = cerr
	} else {
		copy(out, m)
		err = r.zs.Commit(len(out))
	}
	if err != nil {
		return len(m), fmt.Errorf("echo message %d: %w", want, err)
	}
	return len(m), nil
}
