package ringstat

import "github.com/shmring/shmring/layout"

func (t *Tail) startBroadcast(back uint64) {
	p := t.w.u64(layout.BcastCursorOffset) &^ layout.SeqWriting
	t.q = p - min(p, t.h.SlotCount, back)
}

// pollBroadcast reads as a lossy reader does (LAYOUT.md section 14.6),
// without a reader entry: nothing in the file says it is there.
func (t *Tail) pollBroadcast() error {
	for steps := 0; steps < pollBudget; steps++ {
		off := t.h.SlotOffset(t.q & t.mask)
		s := t.w.u64(off + layout.BcastSlotSeqOffset)
		switch t.classify(s) {
		case slotNotYet:
			// End of stream: the state, then the cursor (the producer stores
			// its last cursor before its closed state).
			if t.w.u32(layout.BcastProducerStateOffset)&layout.StateClosed != 0 && t.w.u64(layout.BcastCursorOffset) <= t.q {
				return ErrEnded
			}
			return nil
		case slotOverwritten:
			t.lapped()
			continue
		case slotCorrupt:
			return t.corrupt("slot of position %d seq=%#x", t.q, s)
		}
		n := t.w.u32(off + layout.BcastSlotLengthOffset)
		if n > t.h.SlotSize {
			if t.w.u64(off+layout.BcastSlotSeqOffset) != s {
				t.lapped()
				continue
			}
			return t.corrupt("slot of position %d length=%d, slot size %d", t.q, n, t.h.SlotSize)
		}
		data := t.copyOut(off+layout.BcastSlotPayloadOffset, n)
		// SYNC POINT: tail validation. The copy is ordered before this
		// reload of the slot's sequence: the producer marks a slot before it
		// writes a byte of it, so an unchanged sequence means a whole copy.
		loadFence()
		if t.w.u64(off+layout.BcastSlotSeqOffset) != t.q+1 {
			t.lapped()
			continue
		}
		if err := t.message(t.q, data); err != nil {
			return err
		}
		t.q++
	}
	return nil
}

type slotVerdict int

const (
	slotPublished slotVerdict = iota
	slotNotYet
	slotOverwritten
	slotCorrupt
)

// classify reads a broadcast slot's sequence for position t.q (the table
// of LAYOUT.md section 14.3).
func (t *Tail) classify(s uint64) slotVerdict {
	q := t.q
	if s == 0 {
		return slotNotYet
	}
	v := s &^ layout.SeqWriting
	switch {
	case v == 0 || (v-1)&t.mask != q&t.mask:
		return slotCorrupt
	case s == q+1:
		return slotPublished
	case v <= q+1:
		return slotNotYet
	}
	return slotOverwritten
}

// lapped moves past positions the producer overwrote, by the lap rule of
// LAYOUT.md section 14.6: a quarter ring past the oldest retained position,
// never past the producer.
func (t *Tail) lapped() {
	p := t.w.u64(layout.BcastCursorOffset) &^ layout.SeqWriting
	n := t.h.SlotCount
	next := max(t.q+1, min(p-min(p, n)+max(1, n/4), max(p, t.q+1)))
	t.skip(t.q, next-t.q, "overwritten")
	t.q = next
}
