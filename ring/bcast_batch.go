package ring

// A broadcast reader's batch reads.

import "context"

// ReaderBatch is a run of consecutive messages leased by
// Reader.ReceiveBatch, valid until Release. It is a small value.
type ReaderBatch struct {
	rd    *Reader
	start uint64
	n     int
	gen   uint64 // rd.leases when the run was leased
}

// Len is the number of messages.
func (b ReaderBatch) Len() int { return b.n }

// At is the i-th message, in place. On a slot ring its length is read from
// shared memory and checked: a length beyond the slot is ErrCorrupt, or,
// for a lossy reader whose lease the producer has begun to overwrite, an
// error matching ErrLapped. On a record ring the lengths are the ones
// ReceiveBatch validated. Either way a lossy reader's bytes may be
// overwritten while it reads them, with At saying nothing: only Release
// tells whether they were (a *LapError with the count), so use what At
// returned only once Release said nil.
func (b ReaderBatch) At(i int) (_ []byte, err error) {
	if uint(i) >= uint(b.n) {
		panic("ring: ReaderBatch.At index out of range")
	}
	if b.rd == nil || b.gen != b.rd.leases || b.rd.r.closing.Load() { // closing: as Batch.stale
		return nil, ErrStale
	}
	rd := b.rd
	if !rd.unguarded {
		defer rd.r.endGuard(&err, beginGuard())
	}
	if buf, n := rd.buf, rd.heldBytes; rd.copied { // read once: the Ring's Close may empty them meanwhile
		if n > uint64(cap(buf)) {
			return nil, ErrStale
		}
		return buf[:n], nil
	}
	if rd.rec != nil {
		return rd.recAt(i)
	}
	pos := b.start + uint64(i)
	n := rd.g.length(pos).Load()
	if n > rd.g.slotSize {
		if !rd.lossless && rd.g.seq(b.start).Load() != b.start+1 {
			return nil, errLeaseOverrun
		}
		return nil, rd.g.badLength(rd.r, pos, n)
	}
	if !rd.r.intact() {
		return nil, rd.r.errTruncated()
	}
	return rd.g.payload(pos, n), nil
}

// ReceiveBatch leases up to max published messages — at least one, waiting
// for it as the wait strategy says. Release ends the lease of them all
// (and, for a lossy reader, validates them all: a *LapError means the
// whole batch must be discarded).
func (rd *Reader) ReceiveBatch(ctx context.Context, max int) (_ ReaderBatch, err error) {
	if rd.missing() {
		return ReaderBatch{}, errNoReader
	}
	defer rd.r.endGuard(&err, beginGuard())
	if max <= 0 && !rd.closed {
		panic("ring: Reader.ReceiveBatch with max <= 0")
	}
	if _, err := rd.receive(ctx, true, "ReceiveBatch"); err != nil {
		return ReaderBatch{}, err
	}
	return rd.extend(max), nil
}

// extend grows a lease of one message at q to up to max, over the slots
// that are published already.
func (rd *Reader) extend(max int) ReaderBatch {
	if rd.rec != nil {
		return rd.recExtend(max)
	}
	q := rd.q
	k := 1
	if !rd.copied {
		for ; k < max; k++ {
			pos := q + uint64(k)
			if rd.g.seq(pos).Load() != pos+1 {
				break
			}
			rd.heldBytes += uint64(min(rd.g.length(pos).Load(), rd.g.slotSize)) // for Stats only
		}
	}
	rd.held = k
	rd.lat.observeRange(q+1, k-1) // q was observed when it was leased
	return ReaderBatch{rd: rd, start: q, n: k, gen: rd.leases}
}
