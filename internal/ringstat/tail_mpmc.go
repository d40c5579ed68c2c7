package ringstat

import "github.com/shmring/shmring/layout"

// mpmcScan bounds how many positions one MPMC poll steps over one by one
// before it jumps to the consumers' frontier.
const mpmcScan = 4096

func (t *Tail) startMPMC(back uint64) {
	head := t.w.u64(layout.MPMCHeadOffset)
	tail := t.w.u64(layout.MPMCTailOffset)
	// Messages not yet consumed are still in the ring: start at most back
	// before the producers' frontier, never before the consumers'.
	t.q = max(head, tail-min(tail, back))
	if t.q > tail {
		t.q = tail
	}
}

// pollMPMC follows the slots' control words (LAYOUT.md section 13.3): the
// word names the position a slot holds and its state, and changes before
// the slot's payload may be written for another position.
func (t *Tail) pollMPMC() error {
	lap := int64(t.h.SlotCount)
	for steps := 0; steps < pollBudget; steps++ {
		off := t.h.SlotOffset(t.q & t.mask)
		w := t.w.u64(off + layout.MPMCSlotCtrlOffset)
		st := layout.CtrlState(w)
		if !layout.ValidSlotState(st) {
			return t.corrupt("slot of position %d control=%#x: state %d", t.q, w, st)
		}
		d := int64(int32(layout.CtrlSeq(w) - uint32(t.q)))
		switch {
		case d == 0 && (st == layout.SlotFull || st == layout.SlotReading):
			if err := t.copyMPMC(off, w); err != nil {
				return err
			}
		case d == 0 && st == layout.SlotSkipped:
			t.skip(t.q, 1, "no message")
			t.q++
		case d == 0 || d == -lap:
			// Not claimed or not yet published for this position.
			// The count and the stream in one load: they change together.
			if n, s := layout.ProducerWordParts(t.w.u64(layout.MPMCProducersOffset)); s != 0 && n == 0 &&
				t.w.u64(layout.MPMCTailOffset) <= t.q {
				return ErrEnded
			}
			return nil
		case d > 0 && d%lap == 0:
			// Freed and reused: consumed (or skipped) before it could be
			// copied. Far behind, jump to the consumers' frontier.
			head := t.w.u64(layout.MPMCHeadOffset)
			if steps >= mpmcScan && head > t.q {
				t.skip(t.q, head-t.q, "consumed")
				t.q = head
				continue
			}
			t.skip(t.q, 1, "consumed")
			t.q++
		default:
			return t.corrupt("slot of position %d control=%#x: seq %d is not a whole lap from it", t.q, w, layout.CtrlSeq(w))
		}
	}
	return nil
}

// copyMPMC copies the message at t.q from a slot whose control word w said
// Full or Reading for it, and hands it out if the word still says so
// afterwards (the payload is written only after the word changes to
// Claimed for another position).
func (t *Tail) copyMPMC(off, w uint64) error {
	n := t.w.u32(off + layout.MPMCSlotLengthOffset)
	if n > t.h.SlotSize {
		if t.w.u64(off+layout.MPMCSlotCtrlOffset) != w {
			return nil // moved on: the next look sees what it became
		}
		return t.corrupt("slot of position %d length=%d, slot size %d", t.q, n, t.h.SlotSize)
	}
	data := t.copyOut(off+layout.MPMCSlotPayloadOffset, n)
	// SYNC POINT: tail validation. The copy is ordered before this reload
	// of the control word.
	loadFence()
	w2 := t.w.u64(off + layout.MPMCSlotCtrlOffset)
	st := layout.CtrlState(w2)
	if layout.CtrlSeq(w2) != layout.CtrlSeq(w) || (st != layout.SlotFull && st != layout.SlotReading) {
		return nil // the next look classifies the slot again
	}
	if err := t.message(t.q, data); err != nil {
		return err
	}
	t.q++
	return nil
}
