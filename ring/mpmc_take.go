package ring

// How an MPMC consumer finds the next position to lease: the ring's head,
// a message Recv left pending, or a lease adopted from a dead consumer;
// and how it tells an empty ring from the end of the stream.

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/shmring/shmring/layout"
)

// tryTake leases the position at the head: ErrEmpty when nothing is
// published there, ErrClosed or ErrPeerDead once the stream has ended and
// everything published was taken.
func (c *mpmcConsumer) tryTake() (uint64, error) {
	if c.closed {
		return 0, ErrClosed
	}
	for {
		h := c.head.Load()
		if err := c.hint(h, &c.seenHead, "head"); err != nil {
			return 0, err
		}
		cw := c.ctrl(h)
		w := cw.Load()
		d, st, err := c.check(w, h)
		if err != nil {
			return 0, err
		}
		switch {
		case d == 0 && st == layout.SlotFull:
			atStep(stepBeforeReceive)
			// SYNC POINT: publish (the consumer's half). After this CAS
			// the length and payload the producer wrote are visible.
			if cw.CompareAndSwap(w, layout.Ctrl(h, layout.SlotReading, c.owner)) {
				atStep(stepAfterReceive)
				c.head.CompareAndSwap(h, h+1)
				return h, nil
			}
		case d == 0 && st == layout.SlotSkipped:
			if cw.CompareAndSwap(w, layout.Ctrl(h+c.slots, layout.SlotFree, 0)) {
				c.stats.Skipped++
				c.wakeSpace()
			}
			c.head.CompareAndSwap(h, h+1)
		case d == 0 && st == layout.SlotReading, d == c.lap:
			c.head.CompareAndSwap(h, h+1) // taken: help the hint on
		case d == 0 && (st == layout.SlotFree || st == layout.SlotClaimed), d == -c.lap && st == layout.SlotReading:
			c.blockPos, c.blockW = h, w
			if err := c.ended(h, w); err != errRetry {
				return 0, err
			}
		case d == -c.lap:
			return 0, c.r.corrupt("slot ctrl=%#x at head=%d: state %d a lap behind", w, h, st)
		default:
			if err := c.oddDistance(c.head, h, w); err != nil {
				return 0, err
			}
		}
	}
}

var errRetry = fmt.Errorf("ring: retry")

// ended tells an empty ring at head h (word w) from the end of the stream:
// no producer attached and the stream marked closed (ErrClosed) or its last
// producer reaped dead (ErrPeerDead). Everything published happened before
// the mark, so the slot is looked at again after it.
func (c *mpmcConsumer) ended(h, w uint64) error {
	n, s := layout.ProducerWordParts(c.prodWord.Load()) // SYNC POINT: stream
	if !layout.ValidStream(s) || n > c.maxP {
		return c.r.corrupt("stream=%d producers=%d (max %d)", s, n, c.maxP)
	}
	if s == 0 || n != 0 {
		return ErrEmpty
	}
	if c.ctrl(h).Load() != w {
		return errRetry
	}
	// A claim at the head whose producer is gone (a later incarnation
	// holds its entry, or none) is skipped first: it hides what was
	// published after it, and no producer is left to wait on it.
	if layout.CtrlState(w) == layout.SlotClaimed && layout.CtrlSeq(w) == uint32(h) {
		if changed, err := c.repairClaim(h, w); err != nil || changed {
			return cmp.Or(err, errRetry)
		}
	}
	// Before saying the stream is over, take over what dead consumers,
	// and ones that closed leaving messages, still hold: their messages
	// are delivered once more, marked, not lost with the end of the
	// stream; an entry whose lock is busy (its reaper, or a closing
	// consumer about to let go) is looked at again. (System calls, once
	// per call at the end of a stream: not the data path.)
	unreaped, err := c.reapDead(c.maxP, c.entries())
	switch {
	case err != nil:
		return err
	case len(c.adopted) > 0:
		return errAdopted
	case unreaped:
		return ErrEmpty // a consumer entry holds messages another call will reap
	}
	if s == layout.StreamClosed {
		return ErrClosed
	}
	return fmt.Errorf("%w: ring=%s: every producer died", ErrPeerDead, c.r.name)
}

// errAdopted: attempt found messages adopted from a dead consumer, to be
// handed out before the ring's.
var errAdopted = fmt.Errorf("ring: adopted")

// attempt and probe make the consumer an mpmcWaiter.
func (c *mpmcConsumer) attempt() (uint64, error) {
	if len(c.adopted) > 0 {
		return 0, errAdopted
	}
	return c.tryTake()
}

// probe repairs a dead producer's claim at the head, then reaps entries
// whose holders died: producers (their claims are skipped) and consumers
// (their leases are adopted here and redelivered).
func (c *mpmcConsumer) probe() error {
	w := c.ctrl(c.blockPos).Load()
	if w == c.blockW && layout.CtrlState(w) == layout.SlotClaimed && layout.CtrlSeq(w) == uint32(c.blockPos) {
		if _, err := c.repairClaim(c.blockPos, w); err != nil {
			return err
		}
	}
	c.ent.messages.Store(c.stats.Messages)
	if _, err := c.reapDead(0, c.entries()); err != nil {
		return err
	}
	return errors.Join(c.reconcile(false), c.reconcile(true))
}

// next is the position to lease: a pending or adopted one first, else the
// ring's, waiting as the wait strategy says when block is set.
func (c *mpmcConsumer) next(ctx context.Context, block bool) (uint64, error) {
	if c.hasPending {
		c.hasPending = false
		c.redelivered = c.pendingRedeliv
		return c.pending, nil
	}
	c.redelivered = false
	pos, err := c.attempt()
	if err == ErrEmpty {
		c.stats.Empty++
		if block {
			pos, err = c.await(ctx, c, ErrEmpty, c.blockPos, c.dataWake, c.dataSleepers, stepSleepingEmpty)
		} else {
			err = c.tryProbe()
		}
	}
	if err == errAdopted {
		adopted := c.adopted // once: the Ring's Close, on another goroutine, may empty it
		if len(adopted) == 0 {
			return 0, c.r.errClosedDuringCall()
		}
		pos = adopted[0]
		copy(adopted, adopted[1:])
		c.adopted = adopted[:len(adopted)-1]
		c.redelivered = true
		c.stats.Redelivered++
		c.ctr.flush(&c.stats)
		return pos, nil
	}
	return pos, err
}

// tryProbe: a Try that found the ring empty probes the peers when a probe
// is due (wait.Polls), as a waiting call would once a tick.
func (c *mpmcConsumer) tryProbe() error {
	if !c.waiting.foundDead && !c.waiting.polls.Due(c.wait.config(), c.blockPos) { // wait.go: noteProbe
		return ErrEmpty
	}
	c.waiting.try = c
	if err := c.waiting.noteProbe(c.r.tryProbe(mpmcWait{&c.mpmcHandle})); err != nil {
		return err
	}
	if len(c.adopted) > 0 {
		return errAdopted
	}
	return ErrEmpty
}

// leaseNext extends a batch's lease to position p if it is published
// already.
func (c *mpmcConsumer) leaseNext(p uint64) bool {
	cw := c.ctrl(p)
	w := cw.Load() // SYNC POINT: publish (the consumer's half), as in tryTake
	if w != layout.Ctrl(p, layout.SlotFull, 0) {
		return false
	}
	atStep(stepBeforeReceive)
	if !cw.CompareAndSwap(w, layout.Ctrl(p, layout.SlotReading, c.owner)) {
		return false
	}
	atStep(stepAfterReceive)
	c.head.CompareAndSwap(p, p+1)
	return true
}
