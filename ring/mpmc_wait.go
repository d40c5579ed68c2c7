package ring

// Waiting on an MPMC or MPSC ring (the loop is package internal/wait's):
// the poll is the operation itself, a claim or a take, and the sleepers
// word holds an epoch and a count, because many may sleep.

import (
	"context"
	"sync/atomic"

	"github.com/shmring/shmring/internal/wait"
)

// mpmcWaiter is one side's part of a wait: try the operation, and check the
// peers' liveness.
type mpmcWaiter interface {
	// attempt tries once; notReady (ErrFull or ErrEmpty) means wait on.
	attempt() (uint64, error)
	// probe looks for dead peers that block this side and repairs what
	// it may. System calls: at most once a tick.
	probe() error
}

// await waits for w.attempt to succeed (or fail with an error other than
// notReady), sleeping on wake announced in asleep. The other side changes
// a control word by CAS (a full fence), then wakes everyone if the count
// is not zero; so a sleeper that leaves without succeeding (its context
// ended) has no wake to pass on. The peers are probed at least once a
// tick, so wake-ups for messages this waiter cannot take do not starve it.
// stuck is the position the attempt waits at: a wait its context ends
// counts there as a failed Try call (waitState.run).
func (h *mpmcHandle) await(ctx context.Context, w mpmcWaiter, notReady error, stuck uint64, wake, asleep *atomic.Uint32, at step) (uint64, error) {
	h.waiting.try, h.waiting.notReady = w, notReady
	l := wait.Loop{
		Host:     &h.host,
		Config:   h.wait.config(),
		Estimate: &h.waiting.est,
		Sleeps:   &h.stats.Sleeps,
		Sleepers: wait.Sleepers{Word: asleep, Wake: wake, Mode: wait.Count},
		Barrier:  wait.NoBarrier,
		At:       int(at),
	}
	if err := h.waiting.run(ctx, h.r, &l, mpmcWait{h}, stuck); err != nil {
		return 0, err
	}
	return h.waiting.pos, h.waiting.err
}

// mpmcWait is an MPMC handle's waiter: the attempt in progress is in
// h.waiting.
type mpmcWait struct{ h *mpmcHandle }

// Ready makes one attempt.
//
// SYNC POINT: release. The loop announces the sleeper (a CAS, a full
// fence) before this re-check; the consumer CASes a slot to Free, then
// loads the sleepers word.
func (w mpmcWait) Ready() bool {
	s := &w.h.waiting
	s.pos, s.err = s.try.attempt()
	return s.err != s.notReady
}

func (w mpmcWait) Stopped() error { return w.h.r.interrupted() } // the attempt reports a closed stream itself
func (w mpmcWait) Probe() error   { return w.h.waiting.try.probe() }

// wakeData wakes MPMC consumers waiting for data, wakeSpace producers:
// called after a publishing CAS.
func (h *mpmcHandle) wakeData()  { h.wakeAll(h.dataSleepers, h.dataWake) }
func (h *mpmcHandle) wakeSpace() { h.wakeAll(h.spaceSleepers, h.spaceWake) }

func (h *mpmcHandle) wakeAll(s, wake *atomic.Uint32) {
	if (wait.Sleepers{Word: s, Wake: wake, Mode: wait.Count}).WakeAll() {
		h.stats.Wakes++
		h.ctr.flush(&h.stats)
	}
}
