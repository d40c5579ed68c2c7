//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/shmring/shmring/internal/medium"
	"github.com/shmring/shmring/ring"
)

// The transports of the run command, each a way to make a link of the
// internal/medium handles: the ring variants, three kinds of blocking
// descriptors, datagrams, message queues and the Go channel.

// registry is every transport by name.
var registry = func() map[string]transport {
	ts := []transport{unixgramTransport{}, mqTransport{}, chanTransport{}, fdTransport{"pipe"}, fdTransport{"unix"}, fdTransport{"tcp"}}
	for _, zc := range []bool{false, true} {
		for _, w := range waitNames {
			ts = append(ts, ringTransport{zeroCopy: zc, wait: w})
		}
	}
	m := map[string]transport{}
	for _, t := range ts {
		m[t.name()] = t
	}
	return m
}()

// ringTransport moves messages through shmring SPSC rings in /dev/shm: one
// ring for throughput, one per direction for the two-way workloads. The
// parent creates them, the child opens them by the names in its config,
// and the parent removes the names as soon as the child has attached.
// "shmring" uses the copying Send and Recv, "shmring-zc" Claim/Commit and
// Receive/Release (the message is stamped into the slot and verified in
// place); a "-spin" or "-sleep" suffix selects ring.WaitSpin or
// ring.WaitSleep instead of ring.DefaultWait.
type ringTransport struct {
	zeroCopy bool
	wait     string // "default", "spin" or "sleep"
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
	}
	return ring.DefaultWait
}

func (t ringTransport) open(ctx context.Context, w workload, cfg config) (_ *link, err error) {
	rs := medium.NewRings(ctx, waitStrategy(t.wait))
	e := &end{zeroCopy: t.zeroCopy, closers: []func() error{rs.Close}}
	l := &link{parent: e, unlink: rs.RemoveNames}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.close())
		}
	}()
	o := ring.Options{Kind: ring.SPSC, SlotSize: cfg.size, Slots: cfg.ringSlots()}
	down, err := rs.Create("down", o)
	if err != nil {
		return nil, err
	}
	l.rings = append(l.rings, down)
	if e.s, err = rs.Sender(down); err != nil {
		return nil, err
	}
	if w.twoWay() {
		up, err := rs.Create("up", o)
		if err != nil {
			return nil, err
		}
		l.rings = append(l.rings, up)
		if e.r, err = rs.Receiver(up); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (t ringTransport) attach(w workload, pc peerConfig) (_ *end, err error) {
	rs := medium.NewRings(context.Background(), waitStrategy(t.wait))
	e := &end{zeroCopy: t.zeroCopy, closers: []func() error{rs.Close}}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.close())
		}
	}()
	if len(pc.Rings) < 1 || w.twoWay() && len(pc.Rings) < 2 {
		return nil, fmt.Errorf("ring names missing from the config: %q", pc.Rings)
	}
	if e.r, err = rs.Receiver(pc.Rings[0]); err != nil {
		return nil, err
	}
	if w.twoWay() {
		e.s, err = rs.Sender(pc.Rings[1])
	}
	return e, err
}

// chanTransport is the in-process reference: a buffered Go channel between
// two goroutines of this process, one per direction for the two-way
// workloads (medium.Chan: reused buffers, copy in, copy out).
type chanTransport struct{}

func (chanTransport) name() string { return "chan" }

func (chanTransport) describe(cfg config) string {
	return fmt.Sprintf("buffered Go channel (capacity %d) of reused buffers, copy in, copy out; two goroutines in one process", cfg.chanSlots())
}

func (chanTransport) open(_ context.Context, w workload, cfg config) (*link, error) {
	down := medium.NewChan(cfg.size, cfg.chanSlots(), 1, 1)
	l := &link{parent: &end{s: down.Sender()}, local: &end{r: down.Receiver()}}
	if w.twoWay() {
		up := medium.NewChan(cfg.size, cfg.chanSlots(), 1, 1)
		l.parent.r, l.local.s = up.Receiver(), up.Sender()
	}
	return l, nil
}

func (chanTransport) attach(workload, peerConfig) (*end, error) {
	return nil, errors.New("chan transport runs in one process; it has no child")
}
