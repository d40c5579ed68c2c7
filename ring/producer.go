package ring

import (
	"context"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/internal/fence"

	"github.com/shmring/shmring/layout"
)

// Producer is the write side of a ring. One live Producer exists per SPSC
// ring at a time, across all processes. Its methods must be called from
// one goroutine at a time.
type Producer struct {
	endpoint
	impl    producerImpl // MPMC, MPSC and Broadcast rings; nil for SPSC
	head    uint64       // next position to claim; the published cursor when no claim is open
	limit   uint64       // positions below this are known free (cached consumer cursor + slots)
	claimed uint64       // slots claimed and not yet committed or aborted
	// claims counts the ends of claims (CommitBatch, Abort, Close): a
	// Batch remembers the count it was made at, and is stale once the
	// count moved on.
	claims uint64
}

// Producer takes the producer role. It fails with ErrBusy while a live
// process (this one included) holds it. A role left by a process that died
// is taken over: the new producer continues after the last message the dead
// one published; anything it had claimed and not committed is gone.
//
// On an MPMC or MPSC ring every call gives a new producer, up to the ring's
// MaxProducers live ones across all processes (then ErrBusy); a Broadcast
// ring has one producer, as SPSC.
func (r *Ring) Producer() (_ *Producer, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	defer r.endGuard(&err, beginGuard())
	p := &Producer{}
	p.r, p.unguarded = r, r.unguarded
	switch r.hdr.Kind {
	case MPMC, MPSC:
		impl, err := newMPMCProducer(r, p)
		if err != nil {
			return nil, err
		}
		p.impl = impl
		r.track(p)
		return p, nil
	case Broadcast:
		impl, err := newBcastProducer(r, p)
		if err != nil {
			return nil, err
		}
		p.impl = impl
		r.track(p)
		return p, nil
	}
	if err := p.attach(r, producerRole); err != nil {
		return nil, err
	}
	head, cons := p.own.cursor.Load(), p.peer.cursor.Load()
	if cons > head || head-cons > p.slots {
		r.unlockRole(producerRole, p.lock)
		return nil, r.corrupt("producer cursor=%d consumer cursor=%d slots=%d", head, cons, p.slots)
	}
	p.head, p.limit = head, cons+p.slots
	p.announce()
	r.track(p)
	return p, nil
}

// TryClaim is Claim without waiting: ErrFull when no slot is free.
func (p *Producer) TryClaim() (_ []byte, err error) {
	if p.unguarded {
		return p.tryClaim()
	}
	defer p.r.endGuard(&err, beginGuard())
	return p.tryClaim()
}

func (p *Producer) tryClaim() ([]byte, error) {
	if p.impl != nil {
		return p.impl.TryClaim()
	}
	p.mustNotHoldClaim("TryClaim")
	if p.head >= p.limit {
		if err := p.refresh(); err != nil {
			return nil, err
		}
		if p.head >= p.limit {
			p.stats.Full++
			return nil, ErrFull
		}
	}
	p.claimed = 1
	return p.payload(p.head, p.slotSize), nil
}

// Claim returns the next free slot, waiting for one as the wait strategy
// says. The slice is the slot itself, in shared memory, SlotSize bytes
// long: write the message into it and Commit, or Abort. It stays valid
// until then. Claim while a claim is open panics.
func (p *Producer) Claim(ctx context.Context) (_ []byte, err error) {
	if p.unguarded {
		return p.claim(ctx)
	}
	defer p.r.endGuard(&err, beginGuard())
	return p.claim(ctx)
}

func (p *Producer) claim(ctx context.Context) ([]byte, error) {
	if p.impl != nil {
		return p.impl.Claim(ctx)
	}
	p.mustNotHoldClaim("Claim")
	if p.head >= p.limit {
		if err := p.reserve(ctx); err != nil {
			return nil, err
		}
	}
	p.claimed = 1
	return p.payload(p.head, p.slotSize), nil
}

// Commit publishes the first n bytes of the claimed slot as a message.
// n beyond the slot size returns ErrTooLarge and leaves the claim open.
func (p *Producer) Commit(n int) (err error) {
	if p.unguarded {
		return p.commit(n)
	}
	defer p.r.endGuard(&err, beginGuard())
	return p.commit(n)
}

func (p *Producer) commit(n int) error {
	if p.impl != nil {
		return p.impl.Commit(n)
	}
	if p.claimed != 1 {
		panic("ring: Producer.Commit without a Claim")
	}
	if uint(n) > uint(p.slotSize) {
		return errTooLargeCommit
	}
	p.setLen(p.head, uint32(n))
	p.head++
	p.claimed = 0
	p.stats.Messages++
	p.stats.Bytes += uint64(n)
	p.publishFrom(p.head - 1)
	return nil
}

// Abort drops the open claim (single or batch); nothing is published.
func (p *Producer) Abort() {
	defer p.r.endGuardQuiet(beginGuard())
	p.claims++
	if p.impl != nil {
		p.impl.Abort()
		return
	}
	p.claimed = 0
}

// Send copies msg into the next free slot and publishes it, waiting for a
// slot as the wait strategy says.
func (p *Producer) Send(ctx context.Context, msg []byte) (err error) {
	if p.unguarded {
		return p.send(ctx, msg)
	}
	defer p.r.endGuard(&err, beginGuard())
	return p.send(ctx, msg)
}

func (p *Producer) send(ctx context.Context, msg []byte) error {
	if p.impl != nil {
		return p.impl.Send(ctx, msg)
	}
	if uint(len(msg)) > uint(p.slotSize) {
		return errTooLargeSend
	}
	p.mustNotHoldClaim("Send")
	if p.head >= p.limit {
		if err := p.reserve(ctx); err != nil {
			return err
		}
	}
	p.put(msg)
	p.publishFrom(p.head - 1)
	return nil
}

// TrySend is Send without waiting: ErrFull when no slot is free.
func (p *Producer) TrySend(msg []byte) (err error) {
	if p.unguarded {
		return p.trySend(msg)
	}
	defer p.r.endGuard(&err, beginGuard())
	return p.trySend(msg)
}

func (p *Producer) trySend(msg []byte) error {
	if p.impl != nil {
		return p.impl.TrySend(msg)
	}
	if uint(len(msg)) > uint(p.slotSize) {
		return errTooLargeSend
	}
	p.mustNotHoldClaim("TrySend")
	if p.head >= p.limit {
		if err := p.refresh(); err != nil {
			return err
		}
		if p.head >= p.limit {
			p.stats.Full++
			return ErrFull
		}
	}
	p.put(msg)
	p.publishFrom(p.head - 1)
	return nil
}

// put writes msg into the slot at head and advances head, unpublished.
func (p *Producer) put(msg []byte) {
	s := p.slot(p.head)
	copy(unsafe.Slice((*byte)(unsafe.Add(s, layout.SlotPayloadOffset)), len(msg)), msg)
	*(*uint32)(s) = uint32(len(msg)) // ordered before the cursor store that publishes it
	p.head++
	p.stats.Messages++
	p.stats.Bytes += uint64(len(msg))
}

// publishFrom publishes positions first..head-1: one cursor store (and the
// wake-up check, shared with the consumer's release), then each slot's seq,
// so a consumer polling the next slot sees it without touching the cursor's
// line.
//
// SYNC POINT: cursor and seq. The slots' lengths and payloads are written
// before both stores; the consumer loads one of them, then reads the slot.
// The cursor goes first, so a consumer that saw a seq finds the cursor past
// it too. A sleeper re-checks the cursor, never the seq, so the seq stores
// may follow the wake-up.
func (p *Producer) publishFrom(first uint64) {
	p.publish(p.head)
	for pos := first; pos < p.head; pos++ {
		fence.Store32(p.seq(pos), uint32(pos+1), p.release)
	}
}

func (p *Producer) seq(pos uint64) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Add(p.slot(pos), layout.SlotSeqOffset))
}

func (p *Producer) setLen(pos uint64, n uint32) {
	*(*uint32)(p.slot(pos)) = n // ordered before the cursor store that publishes it
}

// refresh reloads the consumer's cursor into the cached limit.
//
// It also checks, once per refill of the cache (never per message), that
// the producer cursor still says what this handle last published: with no
// claim open, only this handle writes it. Anything else is a second writer
// — two goroutines on one Producer, or a stray process — caught before it
// laps the consumer and wrecks the ring for everyone.
func (p *Producer) refresh() error {
	if p.closed {
		return ErrClosed
	}
	if own := p.own.cursor.Load(); own != p.head {
		return p.r.corrupt("producer cursor=%d, but this handle published up to %d: a second writer moved it (two goroutines on one Producer?)", own, p.head)
	}
	return p.adoptConsumer(p.peer.cursor.Load())
}

// adoptConsumer validates a consumer cursor read from shared memory: it can
// neither go back nor pass what was published.
func (p *Producer) adoptConsumer(cons uint64) error {
	if cons > p.head || cons+p.slots < p.limit {
		return p.r.corrupt("consumer cursor=%d, producer head=%d known free below=%d", cons, p.head, p.limit)
	}
	p.limit = cons + p.slots
	return nil
}

// reserve makes at least one slot free at head, waiting if it must.
func (p *Producer) reserve(ctx context.Context) error {
	if err := p.refresh(); err != nil || p.head < p.limit {
		return err
	}
	p.stats.Full++
	cons, err := p.await(ctx, p.head-p.slots+1)
	if err != nil {
		return err
	}
	return p.adoptConsumer(cons)
}

func (p *Producer) mustNotHoldClaim(op string) {
	if p.claimed != 0 {
		panic("ring: Producer." + op + " while a claim is open; Commit or Abort it first")
	}
}

// Close ends the stream: the consumer receives what was published, then
// ErrClosed. The role is free again afterwards; a new Producer reopens the
// stream. Close is idempotent.
func (p *Producer) Close() (err error) {
	defer p.r.endGuard(&err, beginGuard())
	defer p.r.untrack(p)
	p.claims++
	if p.impl != nil {
		p.closed = true
		defer p.impl.dropRole() // even when Close faults on a shrunk file
		return p.impl.Close()
	}
	if p.closed {
		return nil
	}
	p.claimed = 0
	p.limit = 0 // every later call takes the slow path, which reports ErrClosed
	return p.detach(layout.StateClosed)
}

var (
	errTooLargeCommit = fmt.Errorf("%w: commit length beyond slot", ErrTooLarge)
	errTooLargeSend   = fmt.Errorf("%w: message beyond slot", ErrTooLarge)
)

// SetWait sets how this producer's blocking calls wait.
func (p *Producer) SetWait(w WaitStrategy) {
	if p.impl != nil {
		p.impl.SetWait(w)
		return
	}
	p.wait = w
}

// Stats returns this producer's counters.
func (p *Producer) Stats() Stats {
	if p.impl != nil {
		return p.impl.Stats()
	}
	return p.stats
}
