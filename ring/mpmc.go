package ring

// The MPMC and MPSC engine (LAYOUT.md section 13): Vyukov's bounded queue
// with the claimant recorded in each slot's control word, so that a process
// that dies at any instruction leaves slots whose owner is known, and a
// peer that finds the owner's liveness lock gone repairs them.
//
// Invariants:
//   - A slot's 64-bit control word is the only truth about it. Every state
//     change is one compare-and-swap on it, from a word this handle read;
//     Tail and Head are hints that only ever move forward by one, by CAS.
//   - Positions are claimed in order: the slot at the tail hint is claimed,
//     or seen taken, before the hint moves; so a free slot at the head means
//     nothing at or after the head was claimed (no gaps).
//   - A position's seq is compared as an int32 distance from the expected
//     one; legal distances are 0 and plus or minus one lap (slots <= 2^30).
//   - A claim's owner is dead when its entry's liveness lock is free, or the
//     entry now holds a later incarnation. Only then is its claim repaired.
//   - Every value read from the mapping is read once, checked, then used;
//     a value no correct peer writes is ErrCorrupt, never a panic.

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// initSlots gives a new file's slots their first state, before the file is
// marked ready. SPSC and Broadcast slots start as zeros; an MPMC slot's
// control word starts free for the slot's first position.
func initSlots(h *layout.Header, mem []byte) {
	if h.Kind != MPMC && h.Kind != MPSC {
		return
	}
	for i := uint64(0); i < h.SlotCount; i++ {
		off := h.SlotOffset(i) + layout.MPMCSlotCtrlOffset
		binary.LittleEndian.PutUint64(mem[off:], layout.Ctrl(i, layout.SlotFree, 0))
	}
}

// mpmcEntry is a participant entry's words in the mapping.
type mpmcEntry struct {
	state       *atomic.Uint32
	incarnation *atomic.Uint32
	pid         *atomic.Uint32
	messages    *atomic.Uint64
	repaired    *atomic.Uint64
}

// mpmcHandle is what an MPMC producer and consumer share: geometry from the
// validated header, the control area's words, this handle's entry and
// owner stamp, and process-local counters.
type mpmcHandle struct {
	_ noCopy
	slotArea
	r   *Ring
	lap int32 // slots, as a seq distance
	// maxP and maxC come from the validated header, never re-read.
	maxP uint32
	maxC uint32

	tail, head                          *atomic.Uint64
	prodWord                            *atomic.Uint64 // the producers' count and the stream word (mpmc_count.go)
	dataWake, dataSleepers              *atomic.Uint32
	spaceWake, spaceSleepers, consumers *atomic.Uint32
	consumer                            bool
	index                               uint32 // this handle's entry
	owner                               uint32 // layout.Owner(index, incarnation)
	ent                                 mpmcEntry
	lock                                heldLock
	release                             bool // entry counters may use plain release stores
	wait                                WaitStrategy
	waiting                             waitState // the adaptive spin's estimate; the wait in progress (wait.go)
	stats                               Stats
	ctr                                 counters // stats in the file (counters.go)
	host                                waitHost // the wait loop's host, which stores ctr when the wait sleeps
	lat                                 latency  // producer: its stamps; consumer: its histogram too (telemetry.go)
	closed                              bool
	seenTail, seenHead                  uint64 // hints never go back past these
	revoked                             uint64 // releases that found the lease repaired away
	onAdopt                             func(pos uint64)
	closing                             closeOnce
}

func (h *mpmcHandle) entries() uint32 { return h.maxP + h.maxC }

func (h *mpmcHandle) entry(i uint32) mpmcEntry {
	off := int(layout.MPMCEntryOffset(i))
	return mpmcEntry{
		state:       h.r.word32(off + layout.EntryStateOffset),
		incarnation: h.r.word32(off + layout.EntryIncarnationOffset),
		pid:         h.r.word32(off + layout.EntryPIDOffset),
		messages:    h.r.word64(off + layout.EntryMessagesOffset),
		repaired:    h.r.word64(off + layout.EntryRepairedOffset),
	}
}

func entryLockByte(i uint32) int64 {
	return int64(layout.MPMCEntryOffset(i) + layout.EntryLockByte)
}

// ctrl is the control word of the slot holding position pos.
func (h *mpmcHandle) ctrl(pos uint64) *atomic.Uint64 { return h.seq(pos) }

// check validates a control word read for position pos: a known state and
// an owner that names an entry (or none, outside Claimed and Reading). It
// returns the seq distance from pos and the state. The distance is the
// caller's to judge: a hint loaded before the word may be stale, and then
// the slot may be any number of laps ahead of it.
func (h *mpmcHandle) check(w, pos uint64) (int32, uint32, error) {
	d := int32(layout.CtrlSeq(w) - uint32(pos))
	st := layout.CtrlState(w)
	o := layout.CtrlOwner(w)
	switch {
	case st == layout.SlotClaimed || st == layout.SlotReading:
		if layout.OwnerIndex(o) < h.entries() {
			return d, st, nil
		}
	case st <= layout.SlotSkipped && o == 0:
		return d, st, nil
	}
	return 0, 0, h.badCtrl(w, pos)
}

func (h *mpmcHandle) badCtrl(w, pos uint64) error {
	return h.r.corrupt("slot ctrl=%#x at position=%d (seq distance=%d, state=%d, owner=%#x), slots=%d entries=%d",
		w, pos, int32(layout.CtrlSeq(w)-uint32(pos)), layout.CtrlState(w), layout.CtrlOwner(w), h.slots, h.entries())
}

// oddDistance judges a seq distance other than 0 and one lap either way,
// seen at hint pos: the hint was stale when it has moved since (retry, and
// report false); else the slot is more than a lap from a current hint,
// which no correct peer makes (ErrCorrupt).
func (h *mpmcHandle) oddDistance(hint *atomic.Uint64, pos, w uint64) error {
	if hint.Load() != pos {
		return nil
	}
	return h.badCtrl(w, pos)
}

// hint validates a Tail or Head hint: it never moves back past what this
// handle saw.
func (h *mpmcHandle) hint(v uint64, seen *uint64, what string) error {
	if int64(v-*seen) < 0 {
		return h.r.corrupt("%s hint=%d moved back from %d", what, v, *seen)
	}
	*seen = v
	return nil
}

// posOf turns a slot's 32-bit seq into a full position, the one nearest
// the hint near.
func posOf(seq uint32, near uint64) uint64 {
	return near + uint64(int64(int32(seq-uint32(near))))
}

// noteMessages publishes the handle's message count in its entry, for
// tools: a plain release store where the platform has one, else an
// exchange on a line only this handle writes.
func (h *mpmcHandle) noteMessages() {
	fence.Store64(h.ent.messages, h.stats.Messages, h.release)
}

// SetWait also forgets when the next Try probe is due: that was reckoned
// with the old Tick.
func (h *mpmcHandle) SetWait(w WaitStrategy) { h.wait = w; h.waiting.newTick() }

func (h *mpmcHandle) Stats() Stats { return h.stats }

func (h *mpmcHandle) flushCounters() {
	if !h.closed {
		h.ctr.flush(&h.stats)
	}
}

// revokedErr: the control word at pos no longer names this handle's claim
// or lease. A peer's repair took it, unless the file was shrunk (its words
// then read zero): that is ErrTruncated, as every other call reports it;
// or the Ring's Close let it go meanwhile, which is ErrClosed.
func (h *mpmcHandle) revokedErr(pos, w uint64) error {
	if h.r.closing.Load() {
		return h.r.errClosedDuringCall()
	}
	if !h.r.intact() {
		return h.r.errTruncated()
	}
	return fmt.Errorf("%w: ring=%s position=%d ctrl=%#x owner=%#x", ErrRevoked, h.r.name, pos, w, h.owner)
}
