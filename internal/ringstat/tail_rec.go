package ringstat

import (
	"errors"
	"fmt"

	"github.com/shmring/shmring/layout"
)

// ErrReset: the record ring was reset under the tail (its cursor and
// sequence numbers went back to 0); open a new Tail to follow the new
// stream. A reset is seen when the tail looks while the new stream is
// still short of where the tail stood; one whose new stream has passed
// that point by the next Poll reads as the old stream going on.
var ErrReset = errors.New("ringstat: the ring was reset under the tail")

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
	exact bool   // seq is exact: false from a start at the cursor, or after a gap counted by RecSeq, until the next message
	why   string // the reason for a gap in Seq met next ("" when none is expected)
	// told: messages below it were already reported as a gap counted by
	// RecSeq (pollRecords says why one may still turn up).
	told uint64
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

// startBudget bounds the records startRecords walks to find where -n
// messages back begin; a ring holding more starts at the cursor.
const startBudget = 1 << 22

// startRecords starts at the cursor, or back messages before it: it walks
// the records from the floor (the oldest the ring surely holds) and keeps
// the last back positions it passed. The walk counts only if the floor
// stayed where it was throughout (then nothing it read was being
// rewritten); after a few tries, or over a ring of more than startBudget
// records, it starts at the cursor.
//
// From the cursor, the next Seq is RecSeq loaded after it, as a joining
// reader's (LAYOUT.md section 17.6): a publish in flight may make it a
// little more than the next record's, so it is not exact until then.
func (t *Tail) startRecords(back uint64) {
	p := t.recCursor()
	t.q, t.rec.seq = p, t.w.u64(layout.RecSeqOffset)
	if back == 0 || p%layout.RecordAlign != 0 {
		return // Poll reports a cursor off a record boundary
	}
	k := min(back, pollBudget)
	pos, seqs := make([]uint64, k), make([]uint64, k)
	for range 4 {
		lo := t.recFloor()
		if lo >= p || p-lo > t.h.SlotCount || lo%layout.RecordAlign != 0 {
			return
		}
		var i uint64
		q := lo
		for ; q < p && i < startBudget; i++ {
			_, seq, _, next, ok := t.recAt(q, p)
			if !ok {
				break
			}
			pos[i%k], seqs[i%k] = q, seq
			q = next
		}
		if i == startBudget {
			return
		}
		loadFence() // the walk's loads before the floor's reload
		if q != p || t.recFloor() != lo {
			continue // rewritten under the walk (or more than startBudget records): again
		}
		first := i - min(i, k)
		t.q, t.rec.seq, t.rec.exact = pos[first%k], seqs[first%k], true
		return
	}
}

func (t *Tail) pollRecords() error {
	for steps := 0; steps < pollBudget; steps++ {
		p := t.recCursor()
		if p%layout.RecordAlign != 0 {
			return t.corrupt("record cursor=%d is no record boundary", p)
		}
		// A broadcast ring's Reset puts its cursor and RecSeq back to 0
		// (RecSeq is stored before the cursor, on the cursor's line): the
		// stream the tail followed has ended.
		if p < t.q || t.rec.exact && t.w.u64(layout.RecSeqOffset) < t.rec.seq {
			return fmt.Errorf("%w: the cursor went back from %d to %d", ErrReset, t.q, p)
		}
		if t.q >= p {
			if t.recClosed() && t.recCursor() <= t.q {
				// RecSeq is final: messages the tail lost since its last
				// resync, or since a start at the cursor, and never met a
				// record after are counted here.
				if seq := t.w.u64(layout.RecSeqOffset); seq > t.rec.seq {
					t.skip(t.rec.seq, seq-t.rec.seq, t.recLost())
					t.rec.seq = seq
				}
				return ErrEnded
			}
			if t.rec.why != "" {
				t.countByRecSeq()
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
			// The cursor is reloaded after the floor: both may have moved on
			// since p was loaded, but a floor is never past the cursor.
			if c := t.recCursor(); floor > c || floor%layout.RecordAlign != 0 {
				return t.corrupt("record floor=%d past the cursor=%d or off a record boundary", floor, c)
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
		if seq < t.rec.told {
			// A publish that was in flight when countByRecSeq counted its
			// message as lost: it was reported as not shown, so it is not
			// shown now either (each message is accounted for once).
			t.q, t.rec.exact = next, seq+1 >= t.rec.seq
			continue
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

// countByRecSeq reports the messages lost since the last resync when the
// resync landed on the cursor: no record follows to name the next Seq, so
// the producer's RecSeq (loaded after the cursor, as a joining reader's,
// LAYOUT.md 17.6) counts them. Without it, a tail of an SPSC record ring
// whose consumer keeps up would report nothing at all until the stream
// ended. RecSeq may run ahead of the next record by a publish in flight:
// the count then takes in that publish's messages, seq is not exact until
// the next record, and records below told are not shown (they were
// counted).
func (t *Tail) countByRecSeq() {
	s := t.w.u64(layout.RecSeqOffset)
	if s <= t.rec.seq {
		return // nothing lost yet: the next record says
	}
	t.skip(t.rec.seq, s-t.rec.seq, t.rec.why)
	t.rec.seq, t.rec.told, t.rec.exact, t.rec.why = s, s, false, ""
}

// recLost is why the messages between the tail and the floor were lost.
func (t *Tail) recLost() string {
	if t.h.Kind == layout.KindBroadcast {
		return "overwritten"
	}
	return "consumed"
}
