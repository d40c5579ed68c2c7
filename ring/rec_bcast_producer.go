package ring

// The Broadcast record engine (LAYOUT.md section 17): the broadcast
// producer's words, gate and wake-ups (broadcast.go, bcast_gate.go) over a
// ring of bytes, with a tail word in place of the slots' seqlocks.
//
// Invariants:
//   - Cursors count bytes and are multiples of RecordAlign. The producer's
//     cursor only grows; every record below it is published, and is read
//     only after a load of the cursor that saw it.
//   - RecTail <= cursor, and a record starts at RecTail. Every byte at or
//     past RecTail is what the producer wrote there last; bytes below it
//     may be being overwritten. The producer stores RecTail (moved past
//     every record that starts below end-capacity) before it writes a
//     byte below end, so a lossy reader that loads RecTail after reading
//     the record at q and finds it at most q read the record whole (a
//     seqlock with one word for the whole ring).
//   - RecTail moves a record at a time, an eighth of the ring past what
//     the next write needs where the cursor allows: lapped readers resume
//     with that much headroom, and the producer stores the word once per
//     eighth of a ring, not per message. It never passes the gate while a
//     lossless reader holds it (retire says why).
//   - The producer writes below end only while end <= gate + capacity
//     (bcast_gate.go, with reach = end-head-1): a live lossless reader's
//     unread records are never overwritten once the producer has seen it.
//   - Each record header, the producer's own included when it walks the
//     tail, is read once, checked (rec.go) and then used.

import (
	"context"
	"sync/atomic"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// recBcastProducer is a broadcast record ring's producerEngine.
type recBcastProducer struct {
	*bcastProducer // head is the next position to write, limit the gate + capacity
	a              recArea
	seqW, tailW    *atomic.Uint64 // RecSeq, RecTail
	tail           uint64         // RecTail as this handle stored it
	pub            uint64         // the cursor as this handle published it: head, except inside a SendBatch
	seq            uint64         // the next message's sequence number
	claim          uint64         // where the open claim's record starts
	body           uint64         // where its payload starts
}

func newRecBcastProducer(r *Ring) (*recBcastProducer, error) {
	bp, err := newBcastProducer(r)
	if err != nil {
		return nil, err
	}
	p := &recBcastProducer{bcastProducer: bp, a: r.recArea(), seqW: r.recSeqWord(), tailW: r.recTailWord()}
	p.tail, p.pub = p.tailW.Load(), p.head
	if h := p.head; !aligned(h) || !aligned(p.tail) || p.tail > h || h-p.tail > p.a.cap {
		bp.Close()
		return nil, r.corrupt("record cursor=%d tail=%d: not record boundaries a ring apart", h, p.tail)
	}
	// Numbers a cut publish left unpublished at the cursor are given again
	// (recArea.resumeSeq), and RecSeq says so before anything is written.
	p.seq = p.a.resumeSeq(p.head, p.seqW.Load(), p.tail)
	p.seqW.Store(p.seq)
	p.sent = p.seq // publishHead sets it to seq: a count from here
	return p, nil
}

// ClaimN makes room for a record of n payload bytes at head (wrapped, if
// it would cross the end of the data area), waiting for lossless readers
// (block) or reporting ErrFull, retires what it overwrites, and returns
// its payload.
func (p *recBcastProducer) ClaimN(ctx context.Context, n uint32, block bool) ([]byte, error) {
	body, next := p.a.place(p.head, n)
	if err := p.makeRoom(ctx, next-p.head, block); err != nil {
		return nil, err
	}
	p.claim, p.body = p.head, body
	atStep(stepAfterClaim)
	return p.a.payload(body, n), nil
}

// makeRoom makes need bytes at head writable: below the gate's limit and
// retired from the tail.
func (p *recBcastProducer) makeRoom(ctx context.Context, need uint64, block bool) error {
	if p.head+need > p.limit {
		p.reach = need - 1
		err := p.room(ctx, block)
		p.reach = 0
		if err != nil {
			return err
		}
	}
	return p.retire(p.head+need, int(need))
}

// retire moves RecTail past every record that starts below end-capacity,
// and an eighth of a ring further where the cursor and the gate allow,
// walking the records from the old tail, before n bytes below end are
// written. Never past the gate: a lossless reader that joined below what
// the producer protects checks its reads against RecTail, and one the
// gate waits for must not be told it lapped over records nobody wrote on.
//
// SYNC POINT: record tail. Stored before any byte it retires is written
// (StoreBeforeCopy64: as the slot seqlock's marker, a locked exchange
// ahead of a copy large enough for non-temporal stores); a lossy reader
// loads it after reading a record, and discards the record if it is past
// the record's start.
func (p *recBcastProducer) retire(end uint64, n int) error {
	if end <= p.a.cap || p.tail >= end-p.a.cap {
		return nil
	}
	goal := min(end-p.a.cap+p.a.cap/8, p.pub) // never past the cursor (LAYOUT.md 17.3)
	if p.gated {
		goal = min(goal, p.limit-p.a.cap) // nor past the gate (17.6); end <= limit keeps it >= end-capacity
	}
	pos := p.tail
	for pos < end-p.a.cap || pos < goal {
		rec, ok := p.a.read(pos, p.head)
		if !ok {
			return p.r.corrupt("record header at position=%d (below the producer's head=%d) is no record this producer wrote", pos, p.head)
		}
		pos = rec.next
	}
	p.tail = pos
	fence.StoreBeforeCopy64(p.tailW, pos, p.release, n)
	return nil
}

func (p *recBcastProducer) Claim(ctx context.Context, block bool) ([]byte, error) {
	return p.ClaimN(ctx, p.a.max, block)
}

func (p *recBcastProducer) Commit(n int) error {
	p.put(uint32(n))
	p.publishHead()
	return nil
}

// put writes the header of the claimed record, n bytes long, and moves
// head past it, unpublished.
func (p *recBcastProducer) put(n uint32) {
	atStep(stepBeforePublish)
	p.a.writeHeader(p.claim, p.body, n, p.seq)
	p.head = p.body + layout.RecordBody(n)
	p.seq++
	p.stats.Messages++
	p.stats.Bytes += uint64(n)
}

// publishHead publishes every record below head: the sequence word, then
// the cursor, which wakes sleeping readers (bcastProducer.publishCursor:
// SYNC POINT broadcast cursor). The counters' cadence is checked once per
// publish (recSPSCProducer.publishHead says why with tick).
func (p *recBcastProducer) publishHead() {
	fence.Store64(p.seqW, p.seq, p.release)
	p.publishCursor(p.seq)
	p.pub = p.head
	p.ctr.tick(&p.stats)
}

// Abort drops the claim: nothing of it was written, and head is still
// the published cursor, which RecTail never passes.
func (p *recBcastProducer) Abort() {}

func (p *recBcastProducer) Send(ctx context.Context, msg []byte, block bool) error {
	s, err := p.ClaimN(ctx, uint32(len(msg)), block)
	if err != nil {
		return err
	}
	splitCopy(s, msg, stepMidPayload)
	p.put(uint32(len(msg)))
	p.publishHead()
	return nil
}

// ClaimBatch claims one message of up to MaxMessage bytes, as the SPSC
// record engine's does.
func (p *recBcastProducer) ClaimBatch(ctx context.Context, _ int) (uint64, int, error) {
	if _, err := p.ClaimN(ctx, p.a.max, true); err != nil {
		return 0, 0, err
	}
	return p.claim, 1, nil
}

func (p *recBcastProducer) batchSlot() []byte { return p.a.payload(p.body, p.a.max) }

func (p *recBcastProducer) CommitBatch(k int, lens []uint32) {
	if k == 0 {
		p.Abort()
		return
	}
	p.Commit(int(lens[0]))
}

func (p *recBcastProducer) SendBatch(ctx context.Context, msgs [][]byte, fit int) (int, error) {
	return sendRecords(ctx, p, msgs, fit)
}

// fits reports whether a record of n bytes, the next of a SendBatch, fits
// below the gate now (scanning the readers again when the cached limit says
// no) and within a ring of the published cursor: with no lossless reader
// the gate is head itself, and a batch longer than the ring would
// overwrite its own first records before publishing them.
func (p *recBcastProducer) fits(n uint32) bool {
	_, next := p.a.place(p.head, n)
	if next-p.pub > p.a.cap {
		return false
	}
	if next <= p.limit {
		return true
	}
	p.scan()
	return next <= p.limit
}
