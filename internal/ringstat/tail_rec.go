package ringstat

import "github.com/shmring/shmring/layout"

// A record ring's tail (LAYOUT.md section 17). Positions count bytes, so
// the tail walks record headers from a record boundary, checks each as a
// reader does (layout.CheckRecord, and its end against the producer's
// cursor), and names each message by its sequence number: on a record
// ring Event.Pos is the message's Seq, and a gap counts messages.
//
// A copy is whole if, loaded after it, the floor has not passed the
// record's position: the consumer's cursor on SPSC (the producer rewrites
// only bytes the consumer released), RecTail on broadcast (bytes below it
// may be being overwritten). Otherwise the tail moves to the floor and
// counts what it lost by the next record's Seq.

// recState is the record tail's own state.
type recState struct {
	seq   uint64 // the Seq the next message should carry
	exact bool   // seq is exact: false from a start at the cursor until the first message
	why   string // the reason for a gap in Seq met next ("" when none is expected)
}

func (t *Tail) recCursor() uint64 {
	if t.h.Kind == layout.KindBroadcast {
		return t.w.u64(layout.BcastCursorOffset)
	}
	return t.w.u64(layout.ProducerCursorOffset)
}

// recFloor is the position below which bytes may be rewritten now.
func (t *Tail) recFloor() uint64 {
	if t.h.Kind == layout.KindBroadcast {
		return t.w.u64(layout.RecTailOffset)
	}
	return t.w.u64(layout.ConsumerCursorOffset)
}

func (t *Tail) recClosed() bool {
	off := uint64(layout.ProducerStateOffset)
	if t.h.Kind == layout.KindBroadcast {
		off = layout.BcastProducerStateOffset
	}
	return t.w.u32(off)&layout.StateClosed != 0
}

// recAt reads the header of the record at q, published below end, and
// checks it; body and next are positions.
func (t *Tail) recAt(q, end uint64) (n uint32, seq, body, next uint64, ok bool) {
	off := t.h.SlotsOffset + q&t.mask
	n = t.w.u32(off + layout.RecordLengthOffset)
	typ := t.w.u32(off + layout.RecordTypeOffset)
	seq = t.w.u64(off + layout.RecordSeqOffset)
	b, nx, ok := layout.CheckRecord(q&t.mask, t.h.SlotCount, t.h.SlotSize, n, typ)
	if !ok || q+nx <= q || q+nx > end {
		return n, seq, 0, 0, false
	}
	return n, seq, q + b, q + nx, true
}

// startRecords starts at the cursor, or back messages before it: it walks
// the records from the floor (the oldest the ring surely holds) and keeps
// the last back positions it passed. A header that does not check out
// (rewritten meanwhile) starts the tail at the cursor.
//
// From the cursor, the next Seq is RecSeq loaded after it, as a joining
// reader's (LAYOUT.md section 17.6): a publish in flight may make it a
// little more than the next record's, so it is not exact until then.
func (t *Tail) startRecords(back uint64) {
	p := t.recCursor()
	t.q, t.rec.seq = p, t.w.u64(layout.RecSeqOffset)
	lo := t.recFloor()
	if back == 0 || lo >= p || p-lo > t.h.SlotCount || lo%layout.RecordAlign != 0 {
		return
	}
	k := min(back, pollBudget)
	pos, seqs := make([]uint64, k), make([]uint64, k)
	var i uint64
	for q := lo; q < p && i < pollBudget; i++ {
		_, seq, _, next, ok := t.recAt(q, p)
		if !ok {
			return
		}
		pos[i%k], seqs[i%k] = q, seq
		q = next
	}
	first := i - min(i, k)
	t.q, t.rec.seq, t.rec.exact = pos[first%k], seqs[first%k], true
}

func (t *Tail) pollRecords() error {
	for steps := 0; steps < pollBudget; steps++ {
		p := t.recCursor()
		if t.q >= p {
			if t.recClosed() && t.recCursor() <= t.q {
				return ErrEnded
			}
			return nil
		}
		n, seq, body, next, ok := t.recAt(t.q, p)
		var data []byte
		if ok {
			data = t.copyOut(t.h.SlotsOffset+body&t.mask, n)
		}
		// SYNC POINT: tail validation. The header and the copy are
		// ordered before this load of the floor.
		loadFence()
		if floor := t.recFloor(); floor > t.q {
			if floor > p || floor%layout.RecordAlign != 0 {
				return t.corrupt("record floor=%d past the cursor=%d or off a record boundary", floor, p)
			}
			t.q, t.rec.why = floor, t.recLost()
			continue
		}
		if !ok {
			return t.corrupt("record header at position %d (published below %d)", t.q, p)
		}
		if seq < t.rec.seq && t.rec.exact {
			return t.corrupt("record at position %d carries message %d after message %d", t.q, seq, t.rec.seq-1)
		}
		if seq > t.rec.seq {
			why := t.rec.why
			if why == "" {
				why = "no message" // numbers a producer that took over from a dead one skipped
			}
			t.skip(t.rec.seq, seq-t.rec.seq, why)
		}
		if err := t.message(seq, data); err != nil {
			return err
		}
		t.q, t.rec.seq, t.rec.exact, t.rec.why = next, seq+1, true, ""
	}
	return nil
}

// recLost is why the messages between the tail and the floor were lost.
func (t *Tail) recLost() string {
	if t.h.Kind == layout.KindBroadcast {
		return "overwritten"
	}
	return "consumed"
}
