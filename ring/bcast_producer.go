package ring

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// bcastProducer is a broadcast ring's producerEngine.
type bcastProducer struct {
	_ noCopy
	r *Ring
	w bcastWords
	g slotArea

	head  uint64 // next position to write; the published cursor when no claim is open
	limit uint64 // positions below it may be written without looking at the reader table
	gated bool   // the last scan found a live lossless reader: limit-slots is its cursor
	// reach: a record ring's claim being made needs the reach bytes
	// after head below limit too (rec_bcast_producer.go); zero on slot
	// rings.
	reach uint64

	// Per reader entry, process-local: the incarnation (plus one, so that
	// zero means none) in which the entry was found dead, or corrupt. The
	// scan skips an entry while its incarnation is unchanged; a new
	// reader taking the entry bumps it.
	dead []uint32
	bad  []uint32

	release bool // cursor and seq stores are plain release stores (FlagReleaseStores)
	wait    WaitStrategy
	waiting waitState // the adaptive spin's estimate; the wait in progress (wait.go)
	// TrySend on a gated ring probes reader liveness once a tick (tryReserve)
	nextProbe time.Time
	stats     Stats
	ctr       counters // stats in the file (counters.go)
	host      waitHost // the wait loop's host, which stores ctr when the wait sleeps
	st        stamps   // latency stamps (telemetry.go)
	beat      beat     // the per-message hook of telemetry and the counters (counters.go)
	lock      heldLock
	closed    bool
	fw        atomic.Uint64
	// sent: the messages the cursor stores have published, counted right
	// after the store, before the wake-up that may fault
	// (Producer.endGuardSent).
	sent uint64
}

func newBcastProducer(r *Ring) (*bcastProducer, error) {
	lock, err := r.lockAt(layout.BcastProducerLockByte)
	if err != nil {
		if err == ErrBusy {
			return nil, fmt.Errorf("%w: ring=%s role=producer", ErrBusy, r.name)
		}
		return nil, err
	}
	n := r.hdr.MaxConsumers
	p := &bcastProducer{
		r:       r,
		w:       r.bcastWords(),
		g:       r.slotArea(),
		dead:    make([]uint32, n),
		bad:     make([]uint32, n),
		release: r.releaseStores(),
		wait:    DefaultWait,
		lock:    heldLock{at: layout.BcastProducerLockByte, l: lock},
	}
	head := p.w.cursor.Load()
	if head&layout.SeqWriting != 0 {
		r.unlockAt(layout.BcastProducerLockByte, lock)
		return nil, r.corrupt("broadcast cursor=%#x is no position", head)
	}
	// A producer that died between publishing slots and storing the
	// cursor that covers them left positions readers may already have
	// read: adopt them, so that no position is published twice.
	for i := uint64(0); !r.hdr.Records && i < p.g.slots && p.g.seq(head).Load() == head+1; i++ {
		head++
	}
	p.head = head
	fence.Store64(p.w.cursor, head, false)
	p.scan()
	// The cursor store is a full fence (publishCursor), so readers need no
	// membarrier before they sleep: FlagReleaseStores stays clear.
	p.w.flags.Store(0)
	p.ctr.start(r, layout.BcastProducerBlock, p.w.epoch.Add(1), p.release)
	p.st.start(r, p.release)
	p.host = waitHost{r: r, ctr: &p.ctr, st: &p.stats}
	p.beat = newBeat(r, &p.st, nil, &p.ctr, &p.stats)
	p.w.state.Swap(layout.StateAttached) // a new producer also reopens a closed stream
	return p, nil
}

// markWriting stores position pos's writing marker in its slot, before any
// byte of the payload is written.
//
// SYNC POINT: seqlock open. A reader that loads the seq after reading a
// payload sees this marker (or later) if any payload byte it read may be
// from the new message. On amd64 stores are not reordered with stores
// except non-temporal ones (Intel SDM vol. 3A §8.2.2), which memmove uses
// from 1 MiB: StoreBeforeCopy64 makes the mark a locked exchange for large
// slots. Elsewhere (and under the race detector) the Swap is a full
// barrier that keeps the payload stores after it.
func (p *bcastProducer) markWriting(pos uint64) {
	fence.StoreBeforeCopy64(p.g.seq(pos), (pos+1)|layout.SeqWriting, p.release, int(p.g.slotSize))
}

// publishSeq marks position pos published, after its payload and length.
// From here it is sent (p.sent counts it): readers go by the seq, and a
// new producer adopts the positions published past the cursor.
//
// SYNC POINT: seqlock close. Readers load the seq, then the length and
// payload.
func (p *bcastProducer) publishSeq(pos uint64) {
	fence.Store64(p.g.seq(pos), pos+1, p.release)
	p.sent++
}

// publishCursor stores the cursor, once per batch, and wakes sleeping
// readers if any announced themselves; sent is what p.sent becomes once
// the cursor is stored (on a record ring, whose readers go by the cursor,
// the messages published; a slot ring's publishSeq counted them already).
//
// SYNC POINT: broadcast cursor. Every slot below it has its seq stored
// first; a reader that loads the cursor may expect those seqs.
//
// Dekker pair: "store seq and cursor, then load sleepers" here against
// "set sleepers, then load the slot's seq" in a reader's sleep. The cursor
// store is an exchange, a full fence once per publish: the seq stores
// before it (plain on amd64, in order under TSO) are visible before the
// sleepers load. SPSC instead publishes with a plain store and has its one
// sleeper force the order with membarrier; with many readers each sleep's
// membarrier interrupts every core, and a paced fan-out to four reader
// processes measured a median latency of 500–770 µs that way against 46–50
// µs with this fence (BENCHMARKS.md section 6).
func (p *bcastProducer) publishCursor(sent uint64) {
	fence.Store64(p.w.cursor, p.head, false)
	p.sent = sent
	atStep(stepAfterPublish)
	if p.w.sleepers.Load() != 0 {
		p.wakeReaders()
	}
}

func (p *bcastProducer) Claim(ctx context.Context, block bool) ([]byte, error) {
	if p.head >= p.limit {
		if err := p.room(ctx, block); err != nil {
			return nil, err
		}
	}
	p.markWriting(p.head)
	atStep(stepAfterClaim)
	return p.g.payload(p.head, p.g.slotSize), nil
}

// room makes a slot free at head: waited for (block), or ErrFull.
func (p *bcastProducer) room(ctx context.Context, block bool) error {
	if block {
		return p.reserve(ctx)
	}
	return p.tryReserve()
}

func (p *bcastProducer) Commit(n int) error {
	pos := p.head
	p.g.setLen(pos, uint32(n))
	p.head++
	p.stats.Messages++
	p.stats.Bytes += uint64(n)
	p.beat.at(pos) // before the store that publishes pos
	atStep(stepBeforePublish)
	p.publishSeq(pos)
	p.publishCursor(p.sent)
	return nil
}

// Abort drops the claim. The slot keeps its writing marker: the previous
// lap's message there is gone (the caller may have written over it), and
// the next claim marks it again.
func (p *bcastProducer) Abort() {}

func (p *bcastProducer) Send(ctx context.Context, msg []byte, block bool) error {
	if p.head >= p.limit {
		if err := p.room(ctx, block); err != nil {
			return err
		}
	}
	p.put(msg)
	p.publishCursor(p.sent)
	return nil
}

// put writes msg at head and publishes its slot (not the cursor).
func (p *bcastProducer) put(msg []byte) {
	pos := p.head
	p.markWriting(pos)
	splitCopy(p.g.payload(pos, uint32(len(msg))), msg, stepMidPayload)
	p.g.setLen(pos, uint32(len(msg)))
	p.head++
	p.stats.Messages++
	p.stats.Bytes += uint64(len(msg))
	p.beat.at(pos) // before the store that publishes pos
	atStep(stepBeforePublish)
	p.publishSeq(pos)
}

// roomFor makes up to n slots free at head and says how many: at least
// one, waited for.
func (p *bcastProducer) roomFor(ctx context.Context, n uint64) (int, error) {
	if p.head+n > p.limit {
		if err := p.reserve(ctx); err != nil {
			return 0, err
		}
	}
	return int(min(n, p.limit-p.head)), nil
}

func (p *bcastProducer) ClaimBatch(ctx context.Context, max int) (uint64, int, error) {
	n, err := p.roomFor(ctx, uint64(max))
	for i := range n {
		pos := p.head + uint64(i)
		p.markWriting(pos)
	}
	atStep(stepAfterClaim)
	return p.head, n, err
}

func (p *bcastProducer) CommitBatch(k int, lens []uint32) {
	if k == 0 {
		return
	}
	p.st.stampRange(p.head, k)
	for i, n := range lens[:k] { // inside the slots' writing marks
		p.g.setLen(p.head+uint64(i), n)
	}
	atStep(stepBeforePublish)
	for i, n := range lens[:k] {
		p.stats.Bytes += uint64(n)
		p.publishSeq(p.head + uint64(i))
	}
	p.head += uint64(k)
	p.stats.Messages += uint64(k)
	p.publishCursor(p.sent)
	p.ctr.tick(&p.stats)
}

// SendBatch waits for a free slot first, as SPSC's does.
func (p *bcastProducer) SendBatch(ctx context.Context, msgs [][]byte, fit int) (int, error) {
	n, err := p.roomFor(ctx, uint64(len(msgs)))
	if err != nil {
		return 0, err
	}
	k := min(n, fit)
	for _, m := range msgs[:k] {
		p.put(m)
	}
	if k > 0 {
		p.publishCursor(p.sent)
	}
	if k < n {
		return k, errTooLargeSend
	}
	return k, nil
}

// SetWait also forgets when the next Try probe is due: that was reckoned
// with the old Tick.
func (p *bcastProducer) SetWait(w WaitStrategy) { p.wait, p.nextProbe = w, time.Time{} }

func (p *bcastProducer) sentCount() *uint64 { return &p.sent }

func (p *bcastProducer) Stats() Stats { return p.stats }

func (p *bcastProducer) flushCounters() {
	if !p.closed {
		p.ctr.flush(&p.stats)
	}
}

// Close ends the stream: readers receive what was published, then
// ErrClosed. An open claim is dropped. The role's lock is let go of even
// when Close faults on a shrunk file.
func (p *bcastProducer) Close() error {
	defer p.dropRole()
	if p.closed {
		return nil
	}
	p.ctr.flush(&p.stats)
	p.closed = true
	p.limit = 0 // every later call takes the slow path, which reports ErrClosed
	// SYNC POINT: state. Stored before the sleepers check; a sleeping
	// reader announces itself, then re-checks the state.
	p.w.state.Swap(layout.StateClosed)
	if p.w.sleepers.Load() != 0 {
		p.wakeReaders()
	}
	return p.lock.unlock(p.r)
}
