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
// the parent removes the names as soon as the child has attached. Both ends
// use the copying Send and Recv, one message per call.
type ringTransport struct{}

func init() { register(ringTransport{}) }

const (
	envRingDown = "SHMRING_BENCH_RING_DOWN" // parent produces, child consumes
	envRingUp   = "SHMRING_BENCH_RING_UP"   // child produces, parent consumes (ping-pong)
)

// ringSeq makes ring names unique within this process; the pid makes them
// unique between processes.
var ringSeq atomic.Uint64

func (ringTransport) name() string { return "shmring" }

func (ringTransport) describe(cfg config) string {
	return fmt.Sprintf("SPSC ring in /dev/shm, %d slots, Send/Recv (copy in, copy out), %s wait", cfg.slots, waitName(cfg.spin))
}

func waitName(spin bool) string {
	if spin {
		return "spin"
	}
	return "default"
}

func waitStrategy(spin bool) ring.WaitStrategy {
	if spin {
		return ring.WaitSpin
	}
	return ring.DefaultWait
}

func (ringTransport) open(ctx context.Context, w workload, cfg config) (_ *link, err error) {
	end := &ringEnd{ctx: ctx}
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
		r, err := ring.Create(name, ring.Options{Kind: ring.SPSC, SlotSize: cfg.size, Slots: cfg.slots})
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
	end.prod.SetWait(waitStrategy(cfg.spin))
	if w == pingpong {
		up, err := create("up")
		if err != nil {
			return nil, err
		}
		if end.cons, err = up.Consumer(); err != nil {
			return nil, err
		}
		end.cons.SetWait(waitStrategy(cfg.spin))
	}
	return l, nil
}

func (ringTransport) attach(ctx context.Context, w workload, pc peerConfig) (_ endpoint, err error) {
	end := &ringEnd{ctx: ctx}
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
	end.cons.SetWait(waitStrategy(pc.Spin))
	if w == pingpong {
		up, err := open(envRingUp)
		if err != nil {
			return nil, err
		}
		if end.prod, err = up.Producer(); err != nil {
			return nil, err
		}
		end.prod.SetWait(waitStrategy(pc.Spin))
	}
	return end, nil
}

// ringEnd is one process's end: the producer of one ring and, for
// ping-pong, the consumer of the other.
type ringEnd struct {
	ctx   context.Context // cancelled when the peer is gone (parent side)
	rings []*ring.Ring
	prod  *ring.Producer // nil if this end does not send
	cons  *ring.Consumer // nil if this end does not receive
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
func (ringTransport) notes(tp, pp *measurement) []string {
	var out []string
	if tp != nil {
		out = append(out, fmt.Sprintf("shmring throughput: child consumer %s (found the ring empty %d times, woke the producer %d times); parent producer found it full %d times and %s.",
			slept(get(tp.peerCounters, "consumer.sleeps")), get(tp.peerCounters, "consumer.empty"), get(tp.peerCounters, "consumer.wakes"),
			get(tp.parentCounters, "producer.full"), slept(get(tp.parentCounters, "producer.sleeps"))))
	}
	if pp != nil {
		out = append(out, fmt.Sprintf("shmring round trip: in %d round trips the parent's consumer %s and the child's consumer %s.",
			pp.roundTrips, slept(get(pp.parentCounters, "consumer.sleeps")), slept(get(pp.peerCounters, "consumer.sleeps"))))
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
