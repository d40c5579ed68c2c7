package ring

// The byte ring under every record engine (LAYOUT.md section 17): where a
// position lies, how a record is written, and how one read from the
// mapping is checked before anything of it is used.

import (
	"context"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// recArea is a record ring's data area: its geometry in process-local
// copies taken from the validated header, never re-read from the mapping.
type recArea struct {
	base unsafe.Pointer // data offset 0
	mask uint64         // capacity - 1
	cap  uint64         // bytes, a power of two
	max  uint32         // MaxMessage
}

func (r *Ring) recArea() recArea {
	return recArea{
		base: unsafe.Pointer(&r.mem[r.hdr.SlotsOffset]),
		mask: r.hdr.SlotCount - 1,
		cap:  r.hdr.SlotCount,
		max:  r.hdr.SlotSize,
	}
}

// at is the address of position pos.
func (a *recArea) at(pos uint64) unsafe.Pointer { return unsafe.Add(a.base, pos&a.mask) }

// payload is the n bytes at position body (a record's, from place or
// read). The caller has checked that they lie inside the data area.
func (a *recArea) payload(body uint64, n uint32) []byte {
	return unsafe.Slice((*byte)(a.at(body)), n)
}

// wipe zeroes the data area (Reset): no record is left in it.
func (a *recArea) wipe() { clear(unsafe.Slice((*byte)(a.base), a.cap)) }

// place is where a message of n bytes goes when its record starts at pos:
// after the header when the record fits before the end of the data area,
// else (a wrapped record) at the next lap's start; and the position after
// the record.
func (a *recArea) place(pos uint64, n uint32) (body, next uint64) {
	body = pos + layout.RecordHeaderSize
	if off := pos & a.mask; off+layout.RecordSize(n) > a.cap {
		body = pos + (a.cap - off)
	}
	return body, body + layout.RecordBody(n)
}

// writeHeader writes the header of the record at pos whose payload is at
// body, with plain stores: only the producer writes records, before the
// store that publishes them (each engine's SYNC POINT). It is a wrapped
// record when its payload is not right after it (placed for a longer
// claim) or crosses the end of the data area: where only a header's room
// is left, the next lap's start is right after it.
func (a *recArea) writeHeader(pos, body uint64, n uint32, seq uint64) {
	typ := layout.RecordMessage
	if body != pos+layout.RecordHeaderSize || pos&a.mask+layout.RecordSize(n) > a.cap {
		typ = layout.RecordWrapped
	}
	h := a.at(pos)
	*(*uint32)(unsafe.Add(h, layout.RecordLengthOffset)) = n
	*(*uint32)(unsafe.Add(h, layout.RecordTypeOffset)) = typ
	*(*uint64)(unsafe.Add(h, layout.RecordSeqOffset)) = seq
}

// record is a record header as read from the mapping, once, and checked.
type record struct {
	n    uint32 // payload bytes
	seq  uint64
	body uint64 // the payload's position
	next uint64 // the position after the record
}

// read reads the header of the record at pos, which the producer has
// published below end, and checks it: a message no longer than MaxMessage
// whose record ends at or below end and either lies whole before the end
// of the data area or (wrapped) has its header there and its payload at
// the next lap's start, clear of the header. ok is false for anything
// else: a value no producer writes, or, for a lossy reader, bytes being
// overwritten (its caller tells which). Nothing of a header that fails is
// used.
func (a *recArea) read(pos, end uint64) (rec record, ok bool) {
	if !aligned(pos) {
		// A hostile cursor or tail: no record starts there, and a header
		// at it may cross the end of the data area.
		return rec, false
	}
	h := a.at(pos)
	n := (*atomic.Uint32)(unsafe.Add(h, layout.RecordLengthOffset)).Load()
	typ := (*atomic.Uint32)(unsafe.Add(h, layout.RecordTypeOffset)).Load()
	rec.seq = (*atomic.Uint64)(unsafe.Add(h, layout.RecordSeqOffset)).Load()
	body, next, ok := layout.CheckRecord(pos&a.mask, a.cap, a.max, n, typ)
	if !ok {
		return rec, false
	}
	rec.n, rec.body, rec.next = n, pos+body, pos+next
	return rec, pos < rec.next && rec.next <= end // the first: no cursor near 2^64 wraps round
}

// resumeSeq is the sequence number the stream goes on from at the
// producer cursor h, where RecSeq says seq and RecTail tail: seq, unless a
// producer stopped between its RecSeq and cursor stores (killed, or cut by
// its Ring's Close) and left the records it numbered below seq unpublished
// at h. Those numbers were never published: a producer that takes the
// role over gives them again, and a reader counts from them (joining, or
// counting a loss at the end of the stream), so that no reader counts a
// message nobody published as missed (LAYOUT.md 17.4, the resume rule).
//
// Records at h count as a stopped publish's only when they run, numbered
// one by one, up to the one numbered seq-1 in less than a ring (what the
// last lap left at h runs on for a whole ring, to the last published
// record), and, where the ring retains records (tail < h), when the last
// of those, walked from tail, is numbered one below the first of them: a
// payload that looks like records can make a run, but not one that goes
// on from the published stream (and no earlier stream's records are left:
// Reset zeroes the data area). Where the ring retains none (tail = h, a
// producer retired up to its cursor for a record of nearly a ring) the
// run is taken on its own. Every record is checked as a reader checks
// it; anything that does not check out means seq. The walk is over at
// most a ring of records, and made only where a run was found.
func (a *recArea) resumeSeq(h, seq, tail uint64) uint64 {
	end := h + a.cap - layout.RecordAlign // a run shorter than a ring
	first, ok := a.read(h, end)
	if !ok || first.seq >= seq || seq-first.seq > a.cap/layout.RecordAlign {
		return seq
	}
	if !a.runs(first.next, end, first.seq+1, seq) || tail > h || h-tail > a.cap {
		return seq
	}
	if tail < h {
		if last, ok := a.lastBefore(tail, h); !ok || last+1 != first.seq {
			return seq
		}
	}
	return first.seq
}

// runs reports whether the records from pos are numbered want, want+1,
// ..., up to seq-1, each ending at or below end.
func (a *recArea) runs(pos, end, want, seq uint64) bool {
	for ; want < seq; want++ {
		rec, ok := a.read(pos, end)
		if !ok || rec.seq != want {
			return false
		}
		pos = rec.next
	}
	return true
}

// lastBefore walks the records from tail to h, which must end there, and
// returns the last one's number.
func (a *recArea) lastBefore(tail, h uint64) (uint64, bool) {
	var last uint64
	for pos := tail; pos < h; {
		rec, ok := a.read(pos, h)
		if !ok {
			return 0, false
		}
		last, pos = rec.seq, rec.next
	}
	return last, true
}

// aligned reports whether a position read from the mapping can be a
// record boundary.
func aligned(pos uint64) bool { return pos%layout.RecordAlign == 0 }

// recSeqWord is the record producer's next-sequence word (RecSeq).
func (r *Ring) recSeqWord() *atomic.Uint64 { return r.word64(layout.RecSeqOffset) }

// recTailWord is the broadcast record producer's tail word (RecTail).
func (r *Ring) recTailWord() *atomic.Uint64 { return r.word64(layout.RecTailOffset) }

// A recSender is a record producer as sendRecords drives it.
type recSender interface {
	ClaimN(ctx context.Context, n uint32, block bool) ([]byte, error)
	put(n uint32)
	publishHead()
	fits(n uint32) bool
}

// sendRecords is SendBatch for both record producers: it copies as many
// of msgs[:fit] as fit now, waiting only for the first, and publishes them
// with one cursor store. Only the first claim waits; a later one that
// fails ends the batch with what was written published.
func sendRecords(ctx context.Context, p recSender, msgs [][]byte, fit int) (int, error) {
	k := 0
	for _, m := range msgs[:fit] {
		if k > 0 && !p.fits(uint32(len(m))) {
			break // what is sent is published; the next call waits or reports
		}
		s, err := p.ClaimN(ctx, uint32(len(m)), true)
		if err != nil {
			if k > 0 {
				break
			}
			return 0, err
		}
		copy(s, m)
		p.put(uint32(len(m)))
		k++
	}
	p.publishHead()
	if k == fit && fit < len(msgs) {
		return k, errTooLargeSend
	}
	return k, nil
}
