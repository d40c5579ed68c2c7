package ringstat

import "github.com/shmring/shmring/layout"

// spscBatch is how many messages an SPSC tail copies between two loads of
// the consumer's cursor: one load proves a whole batch unreleased, and the
// consumer's line is read less often.
const spscBatch = 64

func (t *Tail) startSPSC(back uint64) {
	c := t.w.u64(layout.ConsumerCursorOffset)
	p := t.w.u64(layout.ProducerCursorOffset)
	// Only messages not yet released are surely still in the ring.
	t.q = max(c, p-min(p, back))
	if t.q > p {
		t.q = p
	}
}

func (t *Tail) pollSPSC() error {
	for steps := 0; steps < pollBudget; steps++ {
		p := t.w.u64(layout.ProducerCursorOffset)
		if t.q >= p {
			if t.w.u32(layout.ProducerStateOffset)&layout.StateClosed != 0 && t.w.u64(layout.ProducerCursorOffset) <= t.q {
				return ErrEnded
			}
			return nil
		}
		// Loaded after p, a correct consumer's cursor is at least p minus a
		// lap (and may have passed p since).
		c := t.w.u64(layout.ConsumerCursorOffset)
		if p-min(p, c) > t.h.SlotCount {
			return t.corrupt("cursors producer=%d consumer=%d are more than a lap of %d apart", p, c, t.h.SlotCount)
		}
		if c > t.q {
			t.skip(t.q, c-t.q, "consumed")
			t.q = c
			continue
		}
		end := min(p, t.q+spscBatch)
		type copied struct{ from, to int }
		var spans [spscBatch]copied
		var all []byte
		for pos := t.q; pos < end; pos++ {
			off := t.h.SlotOffset(pos & t.mask)
			n := t.w.u32(off + layout.SlotLengthOffset)
			if n > t.h.SlotSize {
				if t.w.u64(layout.ConsumerCursorOffset) > pos {
					end = pos // released and being rewritten: the check below says so
					break
				}
				return t.corrupt("slot of position %d length=%d, slot size %d", pos, n, t.h.SlotSize)
			}
			from := len(all)
			all = append(all, t.mem[off+layout.SlotPayloadOffset:off+layout.SlotPayloadOffset+uint64(n)]...)
			spans[pos-t.q] = copied{from, len(all)}
		}
		// SYNC POINT: tail validation. The copies above are ordered before
		// this load of the consumer's cursor; a position still at or above
		// it was not released, so the producer had not begun to reuse its
		// slot, and the copy is whole.
		loadFence()
		c = t.w.u64(layout.ConsumerCursorOffset)
		for pos := t.q; pos < end; pos++ {
			if pos < c {
				t.skip(pos, 1, "consumed")
				continue
			}
			sp := spans[pos-t.q]
			if err := t.message(pos, all[sp.from:sp.to]); err != nil {
				return err
			}
		}
		t.q = end
	}
	return nil
}
