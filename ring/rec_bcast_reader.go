package ring

// A broadcast reader on a record ring (the invariants are in
// rec_bcast_producer.go). The Reader facade is the slot reader's; these
// are its bodies where records differ: where a record starts, how a lossy
// read is validated (RecTail instead of a slot's seqlock), and how a
// lapped reader finds a record boundary and counts what it missed (the
// records' sequence numbers).

import (
	"sync/atomic"
)

// recReading is a record reader's own state.
type recReading struct {
	a     recArea
	tailW *atomic.Uint64 // RecTail
	seqW  *atomic.Uint64 // RecSeq
	avail uint64         // records below it are published (cached producer cursor)
	seq   uint64         // the sequence number of the message at q
	// lost, lostAt: a loss not counted yet, and where the overrun met
	// the reader (rec_bcast_lap.go).
	lost   bool
	lostAt uint64
	// The lease: its messages' checked spans, the position after them,
	// and the sequence number after them.
	spans   []recSpan
	heldEnd uint64
	heldSeq uint64
}

// recJoin sets a joining reader up and returns where it starts: at the
// cursor p0 (Latest, until newReader moves it to the cursor loaded after
// the entry is visible) or at RecTail, the oldest record the ring holds
// (Oldest). Its first message's sequence number comes from RecSeq at the
// cursor, or from the record at the tail.
func (rd *Reader) recJoin(start Start, p0 uint64) (uint64, error) {
	r := rd.r
	x := &recReading{a: r.recArea(), tailW: r.recTailWord(), seqW: r.recSeqWord(), avail: p0}
	rd.rec = x
	if !aligned(p0) {
		return 0, r.corrupt("record cursor=%d is not a record boundary", p0)
	}
	x.seq = rd.seqAt(p0)
	if start == Latest {
		return p0, nil
	}
	for range 64 {
		t, c := x.tailW.Load(), rd.w.cursor.Load() // the tail first: it never passes the cursor
		if !aligned(t) || !aligned(c) || t > c || c < p0 {
			return 0, r.corrupt("record tail=%d, cursor=%d (was %d)", t, c, p0)
		}
		if t == c { // nothing retained: start at the cursor, as Latest does
			x.seq, x.avail = rd.seqAt(c), c
			return c, nil
		}
		rec, ok := x.a.read(t, c)
		if rd.overwritten(t) {
			continue // the producer moved the tail meanwhile: look again
		}
		if !ok {
			return 0, rd.badRecord(t)
		}
		x.seq, x.avail = rec.seq, c
		return t, nil
	}
	return p0, nil // a producer this busy leaves nothing old to read: start at the cursor
}

// seqAt is the sequence number of the message a reader starting at the
// cursor c reads first: RecSeq, stored before the cursor, loaded after it
// (a publish in flight may have made it larger by that publish's
// messages, which resumeSeq finds at c, as it finds a stopped producer's).
func (rd *Reader) seqAt(c uint64) uint64 {
	x := rd.rec
	return x.a.resumeSeq(c, x.seqW.Load(), x.tailW.Load())
}

// overwritten reports whether the producer may have overwritten the record
// at q since the reader read it: the validating load of RecTail.
//
// SYNC POINT: record tail (the reader's half). The record's loads are
// ordered before this load (loadFence).
func (rd *Reader) overwritten(q uint64) bool {
	loadFence(&rd.fw)
	return rd.rec.tailW.Load() > q
}

// checks: the reader validates what it reads against RecTail (a lossy
// reader, or a lossless joiner still below what the producer protects).
func (rd *Reader) checks() bool { return !rd.lossless || rd.q < rd.protect }

func (rd *Reader) badRecord(pos uint64) error {
	return rd.r.corrupt("record header at position=%d (published below %d) is no record the producer writes", pos, rd.rec.avail)
}

// recPeek returns the message's record at q. errPending when nothing is published at q; a *LapError when a lossy
// reader was overrun (it has moved on); ErrCorrupt for values no producer
// writes.
func (rd *Reader) recPeek() (record, error) {
	x := rd.rec
	for {
		q := rd.q
		if q >= x.avail {
			c := rd.w.cursor.Load() // SYNC POINT: broadcast cursor (the reader's half)
			if c < x.avail || !aligned(c) || !rd.checks() && c-q > x.a.cap {
				return record{}, rd.r.corrupt("record cursor went from %d to %d (reader at %d)", x.avail, c, q)
			}
			if x.avail = c; q >= c {
				return record{}, errPending
			}
		}
		rec, ok := x.a.read(q, x.avail)
		if rd.checks() && rd.overwritten(q) {
			if err := rd.recOverrun(false); err != nil {
				return record{}, err
			}
			continue // a lossless joiner moved its start forward
		}
		if !ok {
			return record{}, rd.badRecord(q)
		}
		if err := rd.countLost(rec.seq); err != nil {
			return record{}, err
		}
		x.seq = rec.seq
		return rec, nil
	}
}

// recReload loads the producer's cursor into the cached one when it moved
// on and checks out (recPeek reports one that does not).
//
// SYNC POINT: broadcast cursor (the reader's half), as in recPeek.
func (rd *Reader) recReload() bool {
	x := rd.rec
	c := rd.w.cursor.Load()
	if c <= x.avail || !aligned(c) || !rd.checks() && c-rd.q > x.a.cap {
		return false
	}
	x.avail = c
	return true
}

// leaseAny and takeAny are lease and take for either format.
func (rd *Reader) leaseAny() ([]byte, error) {
	if rd.rec != nil {
		return rd.recLease()
	}
	return rd.lease()
}

func (rd *Reader) takeAny(buf []byte) (int, error) {
	if rd.rec != nil {
		return rd.recTake(buf)
	}
	return rd.take(buf)
}

// recLease leases the message at q: in place, or, for a lossless joiner
// below protect, as a validated copy.
func (rd *Reader) recLease() ([]byte, error) {
	x := rd.rec
	for {
		rec, err := rd.recPeek()
		if err != nil {
			return nil, err
		}
		q := rd.q
		if !rd.r.intact() {
			return nil, rd.r.errTruncated()
		}
		x.spans = append(x.spans[:0], recSpan{rec.body, rec.n})
		x.heldEnd, x.heldSeq = rec.next, rec.seq+1
		if !rd.lossless || q >= rd.protect {
			rd.held, rd.heldBytes, rd.copied = 1, uint64(rec.n), false
			return x.a.payload(rec.body, rec.n), nil
		}
		buf := rd.scratch(x.a.max)
		copy(buf, x.a.payload(rec.body, rec.n))
		if rd.overwritten(q) {
			continue // recPeek moves the start on
		}
		rd.held, rd.heldBytes, rd.copied = 1, uint64(rec.n), true
		return buf[:rec.n], nil
	}
}

// recTake copies the message at q into buf and moves past it; a lossy
// copy is validated after it is made.
func (rd *Reader) recTake(buf []byte) (int, error) {
	x := rd.rec
	for {
		rec, err := rd.recPeek()
		if err != nil {
			return 0, err
		}
		q := rd.q
		if int(rec.n) > len(buf) {
			if rd.checks() && rd.overwritten(q) {
				continue // recPeek reports the overrun
			}
			return 0, shortBuffer(rec.n, buf)
		}
		splitCopy(buf, x.a.payload(rec.body, rec.n), stepMidRead)
		if rd.checks() && rd.overwritten(q) {
			continue // recPeek reports the overrun
		}
		if !rd.checks() && rd.r.closing.Load() {
			return 0, rd.unguardedCopy()
		}
		if !rd.r.intact() { // after the copy: see guard.go
			return 0, rd.r.errTruncated()
		}
		rd.q, x.seq = rec.next, rec.seq+1
		rd.stats.Messages++
		rd.stats.Bytes += uint64(rec.n)
		rd.took, rd.tookLen = true, int(rec.n)
		rd.storeCursor()
		rd.ctr.tick(&rd.stats)
		return int(rec.n), nil
	}
}

// recRelease ends the lease; a lossy one is validated first (the oldest
// leased record is overwritten first).
func (rd *Reader) recRelease() error {
	x := rd.rec
	k := uint64(len(x.spans))
	rd.held, x.spans = 0, x.spans[:0]
	if !rd.lossless && rd.overwritten(rd.q) {
		return rd.recOverrun(true)
	}
	rd.q, x.seq = x.heldEnd, x.heldSeq
	rd.stats.Messages += k
	rd.stats.Bytes += rd.heldBytes
	rd.copied = false
	rd.took = true
	rd.storeCursor()
	rd.ctr.tick(&rd.stats)
	return nil
}

// recExtend grows a lease of one message at q to up to max, over the
// records published already (the cached cursor reloaded once, as a slot
// ring's batch takes what is published when it is made); a header or a
// cursor that does not check out (or, for a lossy reader, may be
// overwritten) ends the batch, for the next call to report.
func (rd *Reader) recExtend(max int) ReaderBatch {
	x := rd.rec
	if !rd.copied {
		end, firstEnd, firstSeq := x.heldEnd, x.heldEnd, x.heldSeq
		for reloaded := false; len(x.spans) < max; {
			if end >= x.avail {
				if reloaded || !rd.recReload() {
					break
				}
				reloaded = true
			}
			rec, ok := x.a.read(end, x.avail)
			if !ok {
				break
			}
			x.spans = append(x.spans, recSpan{rec.body, rec.n})
			rd.heldBytes += uint64(rec.n)
			end, x.heldSeq = rec.next, rec.seq+1
		}
		if rd.checks() && rd.overwritten(rd.q) {
			x.spans, end, x.heldSeq = x.spans[:1], firstEnd, firstSeq // Release reports the lap
			rd.heldBytes = uint64(x.spans[0].n)
		}
		x.heldEnd = end
	}
	rd.held = len(x.spans)
	return ReaderBatch{rd: rd, start: rd.q, n: len(x.spans), gen: rd.leases}
}

// recAt is the i-th message of the lease, from its checked span.
func (rd *Reader) recAt(i int) ([]byte, error) {
	if !rd.r.intact() {
		return nil, rd.r.errTruncated()
	}
	spans := rd.rec.spans // once, as recSPSCConsumer.at
	if i >= len(spans) {
		return nil, ErrStale
	}
	return rd.rec.a.payload(spans[i].body, spans[i].n), nil
}

// recLag: the producer's next sequence number less the reader's.
func (rd *Reader) recLag() uint64 {
	s := rd.rec.seqW.Load()
	return s - min(s, rd.rec.seq)
}
