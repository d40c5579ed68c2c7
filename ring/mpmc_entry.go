package ring

// An MPMC handle's entry: taking a free one (waiting for one a peer is
// repairing), joining the ring through it, and leaving it, free or left
// for a reaper.

import (
	"errors"
	"fmt"
	"time"

	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
)

// attach takes a free entry of this handle's side and joins the ring
// through it. A predecessor that died holding the entry is reaped first.
func (h *mpmcHandle) attach(r *Ring, consumer bool) error {
	hd := &r.hdr
	onAdopt := h.onAdopt
	*h = mpmcHandle{
		onAdopt:       onAdopt,
		slotArea:      r.slotArea(),
		r:             r,
		lap:           int32(hd.SlotCount),
		maxP:          hd.MaxProducers,
		maxC:          hd.MaxConsumers,
		tail:          r.word64(layout.MPMCTailOffset),
		head:          r.word64(layout.MPMCHeadOffset),
		dataWake:      r.word32(layout.MPMCDataWakeOffset),
		dataSleepers:  r.word32(layout.MPMCDataSleepersOffset),
		prodWord:      r.word64(layout.MPMCProducersOffset),
		spaceWake:     r.word32(layout.MPMCSpaceWakeOffset),
		spaceSleepers: r.word32(layout.MPMCSpaceSleepersOffset),
		consumers:     r.word32(layout.MPMCConsumersOffset),
		consumer:      consumer,
		release:       r.releaseStores(),
		wait:          DefaultWait,
	}
	h.host = waitHost{r: r, ctr: &h.ctr, st: &h.stats}
	lo, hi, what := uint32(0), h.maxP, "producers"
	if consumer {
		lo, hi, what = h.maxP, h.maxP+h.maxC, "consumers"
	}
	var settleBy time.Time
	for try := 0; ; try++ {
		for i := lo; i < hi; i++ {
			l, err := r.lockAt(entryLockByte(i))
			if errors.Is(err, ErrBusy) {
				continue
			}
			if err != nil {
				return err
			}
			h.index, h.lock = i, heldLock{at: entryLockByte(i), l: l}
			if err := h.join(); err != nil {
				r.unlockAt(entryLockByte(i), l)
				return err
			}
			return nil
		}
		// Every entry's lock was busy. A peer reaping a dead holder's entry
		// holds its lock for the repair (reapEntry), and looks from here
		// like a live holder: a process restarted after a crash met that
		// and was refused. A repair takes microseconds, but a reaper
		// goroutine preempted in it holds the lock for the scheduler's
		// slice (10 ms and more on a busy machine), so a few quick looks
		// are not enough: while some entry is not plainly a live holder's,
		// look again for up to settleWait.
		if try >= attachTries {
			if settleBy.IsZero() {
				settleBy = time.Now().Add(settleWait)
			}
			if !h.settling(lo, hi) || time.Now().After(settleBy) {
				return fmt.Errorf("%w: ring=%s max %s=%d reached", ErrBusy, r.name, what, hi-lo)
			}
		}
		if r.closing.Load() { // Close waits for r.mu, which this call holds
			return ErrClosed
		}
		time.Sleep(attachPause)
	}
}

// settling reports whether some entry in [lo, hi) is not attached by a
// live process, so that whoever holds its lock is passing through: a
// reaper (the entry left by a closing consumer, or attached by a process
// that is gone), or a joiner or reaper about to let go (the entry free).
// A holder in another PID namespace can read as gone here; it costs that
// joiner settleWait before it is refused.
func (h *mpmcHandle) settling(lo, hi uint32) bool {
	for i := lo; i < hi; i++ {
		st, err := h.entryState(i)
		if err == nil && (st != layout.EntryAttached || !shm.ProcessAlive(h.entry(i).pid.Load())) {
			return true
		}
	}
	return false
}

// A joiner that finds every entry's lock busy looks again attachTries
// times, attachPause apart, and then, while an entry is settling, until
// settleWait has passed: a ring whose entries all have live holders is
// refused within a few milliseconds.
const (
	attachTries = 5
	attachPause = time.Millisecond
	settleWait  = 2 * time.Second
)

// join fills in the entry whose lock this handle holds.
func (h *mpmcHandle) join() error {
	e := h.entry(h.index)
	h.ent = e
	st, err := h.entryState(h.index)
	if err != nil {
		return err
	}
	wasAttached := st != layout.EntryFree // a dead holder's or a left entry: still counted
	inc := e.incarnation.Add(1)
	h.owner = layout.Owner(h.index, inc)
	if wasAttached {
		// The predecessor died holding the entry (its lock was free), or
		// left messages in it: its claims and leases are this handle's to
		// repair, before anyone could mistake them for the new
		// incarnation's.
		if err := h.reapSlots(h.index); err != nil {
			return err
		}
	}
	e.pid.Store(pid)
	e.messages.Store(0)
	h.ctr.start(h.r, h.index, inc, h.release)
	if h.consumer {
		h.lat.startLatency(h.r, h.index-h.maxP, inc, h.release)
	} else {
		h.lat.stamps.start(h.r, h.release)
	}
	if err := h.countJoin(wasAttached); err != nil {
		return err
	}
	atStep(stepJoinCounted)
	e.state.Store(layout.EntryAttached)
	h.seenTail, h.seenHead = h.tail.Load(), h.head.Load()
	return nil
}

// leave marks the entry free, drops the count and the lock. A producer
// that was the last one closes the stream and wakes every sleeper.
func (h *mpmcHandle) leave() error {
	h.ctr.flush(&h.stats)
	h.closed = true
	h.ent.messages.Store(h.stats.Messages)
	h.ent.state.Store(layout.EntryFree)
	atStep(stepLeaveFreed)
	_, err := h.uncount(h.index, layout.StreamClosed)
	if !h.consumer {
		// SYNC POINT: stream. Stored (full fence) before the sleepers
		// load; a sleeper announces itself, then re-checks the stream.
		h.wakeData()
	}
	return errors.Join(err, h.lock.unlock(h.r))
}

// abandon leaves the entry for another consumer to reap (EntryLeft), its
// count not dropped, and drops the lock: a closing consumer with messages
// it has not released uses it so they are not lost. Stored before the
// unlock, as leave does, so a peer that sees the lock free sees the entry
// left, not attached by a dead holder. With untilUnmapped the lock is not
// dropped here but by the ring file's Close, after the mapping is gone
// (mpmcConsumer.Close says why).
func (h *mpmcHandle) abandon(untilUnmapped bool) error {
	h.ctr.flush(&h.stats)
	h.closed = true
	h.ent.messages.Store(h.stats.Messages)
	h.ent.state.Store(layout.EntryLeft)
	if untilUnmapped {
		h.lock.unlocked = true // shm.File.Close closes its description
		return nil
	}
	return h.lock.unlock(h.r)
}
