package ring

// How a lossy record reader (or a lossless joiner still below what the
// producer protects) that the producer overran finds a record boundary
// again and counts, exactly, the messages it lost: by the sequence numbers
// in the records' headers (LAYOUT.md section 17.6).
//
// The count needs the sequence number S of the first message the reader
// can still have. Where the ring retains a record (RecTail < cursor), that
// is the Seq of the record at RecTail. Where it retains none (RecTail at
// the cursor: a producer about to write there has retired everything
// below), S is the Seq of the record the producer will publish at the
// cursor, which RecSeq cannot tell: it is stored before the cursor, so
// read after it, it may already be a later publish's. The reader then
// moves to the cursor and counts the loss once it reads that record
// (countLost), or from RecSeq when the stream ends first (streamEnded: no
// publish follows). The messages of a lease being released are lost at
// once, so they are reported at once; the rest follows.

import "errors"

// recOverrun moves a reader the producer overran to RecTail, the oldest
// record the ring holds, and counts the messages it lost by the sequence
// number found there. The error is overrun's, for slots; a reader that
// lost no message (RecTail moved to where it stood) moves on silently.
// releasing: Release found its lease overwritten (x.heldSeq is the
// sequence number after it).
func (rd *Reader) recOverrun(releasing bool) error {
	x := rd.rec
	q := rd.q
	for range 1 << 16 {
		t, c := x.tailW.Load(), rd.w.cursor.Load()
		if !aligned(t) || !aligned(c) || t > c || c < x.avail {
			return rd.r.corrupt("record tail=%d cursor=%d (known published below %d)", t, c, x.avail)
		}
		// Every caller saw RecTail past q, and it only grows: a tail at or
		// below q was moved back by a writer that is no producer, and
		// following it would hand out again what the reader delivered
		// (a black-box tester's lossy reader did so, err nil).
		if t <= q {
			return rd.r.corrupt("record tail went back to %d, at or below the reader's position %d it was seen past", t, q)
		}
		if t == c {
			return rd.lostAtCursor(q, c, releasing)
		}
		rec, ok := x.a.read(t, c)
		if rd.overwritten(t) {
			continue // the tail moved meanwhile: look again
		}
		if !ok {
			return rd.badRecord(t)
		}
		missed := rec.seq - min(rec.seq, x.seq)
		at := rd.lossAt(q)
		rd.q, x.avail, x.seq, x.lost = t, c, rec.seq, false
		if rd.joinerStart(at) || missed == 0 {
			rd.storeCursor() // a joiner's start moved on, or nothing was lost
			return nil
		}
		return rd.countLap(at, missed)
	}
	return rd.r.corrupt("record tail kept moving while a lapped reader looked for a record at it")
}

// lostAtCursor moves a reader overrun at q to the cursor c, where the
// ring retains no record, leaving the count to countLost or streamEnded;
// a lease being released is reported lost now.
func (rd *Reader) lostAtCursor(q, c uint64, releasing bool) error {
	x := rd.rec
	at := rd.lossAt(q)
	rd.q, x.avail = c, c
	if rd.joinerStart(at) {
		rd.storeCursor() // a joiner's start moved on
		return nil
	}
	x.lost, x.lostAt = true, at
	if held := x.heldSeq - min(x.heldSeq, x.seq); releasing && held > 0 {
		x.seq = x.heldSeq
		return rd.countLap(at, held)
	}
	rd.storeCursor()
	return nil
}

// lossAt is where the loss being counted began: an earlier overrun's, if
// one is not counted yet.
func (rd *Reader) lossAt(q uint64) uint64 {
	if rd.rec.lost {
		return min(q, rd.rec.lostAt)
	}
	return q
}

// countLost counts a loss left to the next record read (lostAtCursor), by
// seq, that record's Seq.
func (rd *Reader) countLost(seq uint64) error {
	x := rd.rec
	if !x.lost {
		return nil
	}
	x.lost = false
	missed := seq - min(seq, x.seq)
	x.seq = seq
	if missed == 0 {
		return nil
	}
	return rd.countLap(x.lostAt, missed)
}

// streamEnded is end, the end of the stream (ErrClosed, ErrPeerDead), or
// first the loss left to a record that will not come, counted from RecSeq
// (less what a cut publish left at the cursor unpublished: resumeSeq):
// the producer is gone, so no publish is in flight. Unless a new producer
// took the role over since ep, the producer epoch loaded before the state
// that said the stream ended (a new producer bumps the epoch before it
// publishes): then its first record counts the loss.
func (rd *Reader) streamEnded(end error, ep uint32) error {
	if rd.rec == nil || !rd.rec.lost || !errors.Is(end, ErrClosed) && !errors.Is(end, ErrPeerDead) {
		return end
	}
	seq, t, c := rd.rec.seqW.Load(), rd.rec.tailW.Load(), rd.w.cursor.Load()
	if rd.w.epoch.Load() != ep {
		return end
	}
	seq = rd.rec.a.resumeSeq(c, seq, t) // not what a cut publish left unpublished
	if err := rd.countLost(seq); err != nil {
		return err
	}
	return end
}

// countLap counts an overrun at q that lost missed messages and returns
// its error (lapped).
func (rd *Reader) countLap(q, missed uint64) error {
	rd.stats.Lapped++
	rd.stats.Missed += missed
	rd.e.missed.Store(rd.stats.Missed)
	rd.storeCursor()
	rd.ctr.flush(&rd.stats) // a lap is a slow path: tools see it at once
	return rd.lapped(q, missed)
}
