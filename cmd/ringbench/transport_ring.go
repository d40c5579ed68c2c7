//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/shmring/shmring/ring"
)

// ringTransport moves messages through shmring SPSC rings in /dev/shm: one
// ring for throughput, one per direction for ping-pong. The parent creates
// them, the child opens them by the names in envRingDown and envRingUp, and
// the parent removes the names as soon as the child has attached.
//
// Each variant fixes the path and the wait strategy of both ends: "shmring"
// uses the copying Send and Recv, "shmring-zc" the zero-copy Claim/Commit
// and Receive/Release (the message is stamped into the slot and verified in
// place); a "-spin" or "-sleep" suffix selects ring.WaitSpin or
// ring.WaitSleep instead of ring.DefaultWait. Every variant publishes one
// message per call: no batching.
type ringTransport struct {
	zeroCopy bool
	wait     string // "default", "spin" or "sleep"
}

func init() {
	for _, zc := range []bool{false, true} {
		for _, w := range waitNames {
			register(ringTransport{zeroCopy: zc, wait: w})
		}
	}
}

// waitNames are the --wait values, the first one the default.
var waitNames = []string{"default", "spin", "sleep"}

// ringName is the transport name of a ring variant.
func ringName(zeroCopy bool, wait string) string {
	n := "shmring"
	if zeroCopy {
		n += "-zc"
	}
	if wait != "default" {
		n += "-" + wait
	}
	return n
}

const (
	envRingDown = "SHMRING_BENCH_RING_DOWN" // parent produces, child consumes
	envRingUp   = "SHMRING_BENCH_RING_UP"   // child produces, parent consumes (ping-pong)
)

// ringSeq makes ring names unique within this process; the pid makes them
// unique between processes.
var ringSeq atomic.Uint64

func (t ringTransport) name() string { return ringName(t.zeroCopy, t.wait) }

func (t ringTransport) describe(cfg config) string {
	path := "Send/Recv (copy in, copy out)"
	if t.zeroCopy {
		path = "Claim/Commit and Receive/Release (written and verified in the slot, no copy)"
	}
	return fmt.Sprintf("SPSC ring in /dev/shm, %d slots of %d B, %s, %s wait, one message per call",
		cfg.ringSlots(), cfg.size, path, t.wait)
}

func waitStrategy(name string) ring.WaitStrategy {
	switch name {
	case "spin":
		return ring.WaitSpin
	case "sleep":
		return ring.WaitSleep
	default:
		return ring.DefaultWait
	}
}

func (t ringTransport) open(ctx context.Context, w workload, cfg config) (_ *link, err error) {
	end := &ringEnd{ctx: ctx, zeroCopy: t.zeroCopy}
	var names []string
	l := &link{parent: end}
	l.unlink = func() error {
		var errs []error
		for _, n := range names {
			errs = append(errs, ring.Remove(n))
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, end.close(), l.unlink())
		}
	}()
	create := func(dir string) (*ring.Ring, error) {
		name := fmt.Sprintf("ringbench-%d-%d-%s", os.Getpid(), ringSeq.Add(1), dir)
		r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: cfg.size, Slots: cfg.ringSlots()})
		if err != nil {
			return nil, err
		}
		names = append(names, name)
		end.rings = append(end.rings, r)
		l.env = append(l.env, map[string]string{"down": envRingDown, "up": envRingUp}[dir]+"="+name)
		return r, nil
	}
	down, err := create("down")
	if err != nil {
		return nil, err
	}
	if end.prod, err = down.Producer(); err != nil {
		return nil, err
	}
	end.prod.SetWait(waitStrategy(t.wait))
	if w.twoWay() {
		up, err := create("up")
		if err != nil {
			return nil, err
		}
		if end.cons, err = up.Consumer(); err != nil {
			return nil, err
		}
		end.cons.SetWait(waitStrategy(t.wait))
	}
	l.parent = end.endpoint()
	return l, nil
}

func (t ringTransport) attach(ctx context.Context, w workload, pc peerConfig) (_ endpoint, err error) {
	end := &ringEnd{ctx: ctx, zeroCopy: t.zeroCopy}
	defer func() {
		if err != nil {
			err = errors.Join(err, end.close())
		}
	}()
	open := func(env string) (*ring.Ring, error) {
		name := os.Getenv(env)
		if name == "" {
			return nil, fmt.Errorf("%s is not set", env)
		}
		r, err := ring.Open(name)
		if err != nil {
			return nil, err
		}
		end.rings = append(end.rings, r)
		return r, nil
	}
	down, err := open(envRingDown)
	if err != nil {
		return nil, err
	}
	if end.cons, err = down.Consumer(); err != nil {
		return nil, err
	}
	end.cons.SetWait(waitStrategy(t.wait))
	if w.twoWay() {
		up, err := open(envRingUp)
		if err != nil {
			return nil, err
		}
		if end.prod, err = up.Producer(); err != nil {
			return nil, err
		}
		end.prod.SetWait(waitStrategy(t.wait))
	}
	return end.endpoint(), nil
}

// ringEnd is one process's end: the producer of one ring and, for
// ping-pong, the consumer of the other.
type ringEnd struct {
	ctx      context.Context // cancelled when the peer is gone (parent side)
	rings    []*ring.Ring
	prod     *ring.Producer // nil if this end does not send
	cons     *ring.Consumer // nil if this end does not receive
	zeroCopy bool           // use the zero-copy path (see zcRingEnd)
}

// zcRingEnd is a ringEnd whose loops take the zero-copy path; its send and
// recv (the copying path) stay available to wrappers in tests.
type zcRingEnd struct{ *ringEnd }

func (e zcRingEnd) claim(n int) ([]byte, error) {
	b, err := e.prod.Claim(e.ctx)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

func (e zcRingEnd) commit(n int) error { return e.prod.Commit(n) }

func (e zcRingEnd) lease() ([]byte, error) {
	m, err := e.cons.Receive(e.ctx)
	if errors.Is(err, ring.ErrClosed) {
		return nil, io.EOF
	}
	return m, err
}

func (e zcRingEnd) release() { e.cons.Release() }

// endpoint returns e as the loops should use it.
func (e *ringEnd) endpoint() endpoint {
	if e.zeroCopy {
		return zcRingEnd{e}
	}
	return e
}

func (e *ringEnd) send(msg []byte) error {
	return e.prod.Send(e.ctx, msg)
}

func (e *ringEnd) recv(buf []byte) error {
	n, err := e.cons.Recv(e.ctx, buf)
	if errors.Is(err, ring.ErrClosed) {
		return io.EOF
	}
	if err != nil {
		return err
	}
	if n != len(buf) {
		return fmt.Errorf("got a %d-byte message, want %d bytes", n, len(buf))
	}
	return nil
}

func (e *ringEnd) closeSend() error {
	if e.prod == nil {
		return nil
	}
	return e.prod.Close() // idempotent
}

func (e *ringEnd) close() error {
	var errs []error
	for _, r := range e.rings {
		errs = append(errs, r.Close()) // closes the role handles too
	}
	e.rings = nil
	return errors.Join(errs...)
}

func (e *ringEnd) counters() []counter {
	var cs []counter
	if e.prod != nil {
		s := e.prod.Stats()
		cs = append(cs,
			counter{"producer.full", s.Full},
			counter{"producer.sleeps", s.Sleeps},
			counter{"producer.wakes", s.Wakes})
	}
	if e.cons != nil {
		s := e.cons.Stats()
		cs = append(cs,
			counter{"consumer.empty", s.Empty},
			counter{"consumer.sleeps", s.Sleeps},
			counter{"consumer.wakes", s.Wakes})
	}
	return cs
}

// notes says whether the ends ever slept on the futex: a consumer that
// never slept in the throughput run means the stream never ran dry long
// enough to leave the spin and yield phases.
func (t ringTransport) notes(tp, pp *measurement) []string {
	var out []string
	if tp != nil {
		out = append(out, fmt.Sprintf("%s throughput: child consumer %s (found the ring empty %d times, woke the producer %d times); parent producer found it full %d times and %s.",
			t.name(), slept(get(tp.peerCounters, "consumer.sleeps")), get(tp.peerCounters, "consumer.empty"), get(tp.peerCounters, "consumer.wakes"),
			get(tp.parentCounters, "producer.full"), slept(get(tp.parentCounters, "producer.sleeps"))))
	}
	if pp != nil {
		out = append(out, fmt.Sprintf("%s round trip: in %d round trips the parent's consumer %s and the child's consumer %s.",
			t.name(), pp.roundTrips, slept(get(pp.parentCounters, "consumer.sleeps")), slept(get(pp.peerCounters, "consumer.sleeps"))))
	}
	return out
}

func slept(n uint64) string {
	switch n {
	case 0:
		return "never slept"
	case 1:
		return "slept once"
	default:
		return fmt.Sprintf("slept %d times", n)
	}
}

func get(cs []counter, name string) uint64 {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return 0
}
