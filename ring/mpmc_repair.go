package ring

// Repair: what an MPMC handle does about peers whose process died (their
// entry's liveness lock is free). A dead producer's claims become Skipped;
// a dead consumer's leases are adopted by a consumer and redelivered, once,
// marked. Waiting and repair paths only: each probe is a system call.

import (
	"errors"

	"github.com/shmring/shmring/layout"
)

// ownerDead reports whether the holder named by owner o is gone: its
// entry's lock is free, or the entry holds a later incarnation. A system
// call: waiting and repair paths only.
func (h *mpmcHandle) ownerDead(o uint32) (bool, error) {
	i := layout.OwnerIndex(o)
	if i >= h.entries() {
		return false, h.r.corrupt("owner=%#x index=%d, entries=%d", o, i, h.entries())
	}
	if o == h.owner {
		return false, nil
	}
	e := h.entry(i)
	if !layout.SameIncarnation(o, e.incarnation.Load()) {
		return true, nil
	}
	held, err := h.r.heldAt(entryLockByte(i))
	return !held, err
}

// reapSlots repairs every slot whose claim or lease names entry i: a
// producer's unpublished claim becomes Skipped; a consumer's lease is
// adopted by this handle when it is a consumer (redelivered once, marked).
// O(slots): a dead peer is rare.
func (h *mpmcHandle) reapSlots(i uint32) error {
	near := h.head.Load()
	skipped := 0
	for s := uint64(0); s < h.slots; s++ {
		cw := h.ctrl(s)
		w := cw.Load()
		st, o := layout.CtrlState(w), layout.CtrlOwner(w)
		if (st != layout.SlotClaimed && st != layout.SlotReading) || layout.OwnerIndex(o) != i || o == h.owner {
			continue
		}
		pos := posOf(layout.CtrlSeq(w), near)
		if pos&h.mask != s {
			return h.r.corrupt("slot=%d ctrl=%#x holds a position of slot %d", s, w, pos&h.mask)
		}
		switch {
		case st == layout.SlotClaimed:
			if cw.CompareAndSwap(w, layout.Ctrl(pos, layout.SlotSkipped, 0)) {
				h.repairedOne()
				skipped++
			}
		case h.consumer && h.onAdopt != nil:
			if cw.CompareAndSwap(w, layout.Ctrl(pos, layout.SlotReading, h.owner)) {
				h.repairedOne()
				h.onAdopt(pos)
			}
		}
	}
	if skipped > 0 {
		h.wakeData()
	}
	return nil
}

func (h *mpmcHandle) repairedOne() {
	h.stats.Repaired++
	h.ent.repaired.Add(1)
	h.ctr.flush(&h.stats)
}

// repairClaim skips position pos, claimed (word w) by a producer that is
// dead. It reports whether the slot changed.
func (h *mpmcHandle) repairClaim(pos, w uint64) (bool, error) {
	dead, err := h.ownerDead(layout.CtrlOwner(w))
	if err != nil || !dead {
		return false, err
	}
	// SYNC POINT: claim (the repairer's half). The CAS succeeds only on
	// the word the dead owner stamped, so a claim never changes hands.
	if !h.ctrl(pos).CompareAndSwap(w, layout.Ctrl(pos, layout.SlotSkipped, 0)) {
		return true, nil // someone else changed it: look again
	}
	h.repairedOne()
	h.wakeData()
	return true, nil
}

// reapEntry becomes the sole reaper of entry i, attached with no live
// holder or left (EntryLeft): it takes the entry's lock, repairs the slots
// the entry holds, marks it free and drops its count. It reports whether
// it reaped.
func (h *mpmcHandle) reapEntry(i uint32) (bool, error) {
	l, err := h.r.lockAt(entryLockByte(i))
	if errors.Is(err, ErrBusy) {
		return false, nil // a live holder, a joiner or another reaper has it
	}
	if err != nil {
		return false, err
	}
	defer h.r.unlockAt(entryLockByte(i), l)
	if st, err := h.entryState(i); st == layout.EntryFree || err != nil {
		return false, err
	}
	if err := h.reapSlots(i); err != nil {
		return false, err
	}
	h.entry(i).state.Store(layout.EntryFree)
	atStep(stepReapFreed)
	// The last producer died: consumers drain what was published, then
	// get ErrPeerDead; a new producer reopens the stream.
	ended, err := h.uncount(i, layout.StreamPeerDead)
	if ended {
		h.wakeData()
	}
	return err == nil, err
}

// reapDead scans the entries in [lo, hi) for attached ones whose holder is
// gone, and left ones, and reaps them. unreaped: one of them could not be
// reaped now (its lock was busy: another reaper, or a closing consumer
// between storing Left and letting go). O(entries) system calls: once per
// tick at most.
func (h *mpmcHandle) reapDead(lo, hi uint32) (unreaped bool, err error) {
	for i := lo; i < hi; i++ {
		if i == h.index {
			continue
		}
		st, live, err := h.holderAt(i)
		if err == nil && (st == layout.EntryAttached && !live || st == layout.EntryLeft) {
			var reaped bool
			reaped, err = h.reapEntry(i)
			unreaped = unreaped || !reaped
		}
		if err != nil {
			return unreaped, err
		}
	}
	return unreaped, nil
}

// liveCount reports how many entries in [lo, hi) are attached, and how many
// of those have a live holder. A left entry (EntryLeft) is neither: its
// holder closed.
func (h *mpmcHandle) liveCount(lo, hi uint32) (attached, live int, err error) {
	for i := lo; i < hi; i++ {
		st, l, err := h.holderAt(i)
		if err != nil {
			return 0, 0, err
		}
		if st == layout.EntryAttached {
			attached++
		}
		if l {
			live++
		}
	}
	return attached, live, nil
}

// entryState reads entry i's state; ErrCorrupt for a state no peer writes
// (only consumers leave an entry).
func (h *mpmcHandle) entryState(i uint32) (uint32, error) {
	st := h.entry(i).state.Load()
	if st > layout.EntryLeft || st == layout.EntryLeft && i < h.maxP {
		return 0, h.r.corrupt("entry=%d state=%#x", i, st)
	}
	return st, nil
}

// holderAt reads entry i's state and, if it is attached, whether a live
// process holds it (a system call). A holder that detaches stores the
// entry free (or left) before it unlocks, and a newcomer bumps the
// incarnation after it locks: an entry whose words moved while its lock
// was probed is reported as it is now, not as attached by a dead holder.
func (h *mpmcHandle) holderAt(i uint32) (st uint32, live bool, err error) {
	inc := h.entry(i).incarnation.Load()
	if st, err = h.entryState(i); st != layout.EntryAttached || err != nil {
		return st, false, err
	}
	if live, err = h.r.heldAt(entryLockByte(i)); live || err != nil {
		return st, live, err
	}
	// The state again, then the incarnation: a newcomer bumps the
	// incarnation before it stores the entry attached, so a newcomer's
	// state seen here comes with an incarnation that moved. (Loaded the
	// other way round, a newcomer that did both between the two loads
	// read as attached by a dead holder: "every consumer died" while
	// consumers came and went cleanly.)
	if st, err = h.entryState(i); err != nil {
		return st, false, err
	}
	if h.entry(i).incarnation.Load() != inc {
		return st, true, nil // taken over meanwhile: the newcomer is live
	}
	return st, false, nil
}
