package ring

import (
	"context"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// spscProducer is an SPSC ring's producerEngine.
type spscProducer struct {
	endpoint
	head  uint64 // next position to claim; the published cursor when no claim is open
	limit uint64 // positions below this are known free (cached consumer cursor + slots)
}

func newSPSCProducer(r *Ring) (*spscProducer, error) {
	p := &spscProducer{}
	head, cons, err := p.attach(r, producerRole)
	p.head, p.limit, p.sent = head, cons+p.slots, head
	return p, err
}

func (p *spscProducer) Claim(ctx context.Context, block bool) ([]byte, error) {
	if p.head >= p.limit {
		if err := p.reserve(ctx, block); err != nil {
			return nil, err
		}
	}
	return p.payload(p.head, p.slotSize), nil
}

func (p *spscProducer) Commit(n int) error {
	p.setLen(p.head, uint32(n))
	p.head++
	p.stats.Messages++
	p.stats.Bytes += uint64(n)
	p.beat.at(p.head - 1) // before the publishing store, after the count
	p.publishFrom(p.head - 1)
	return nil
}

// Abort has nothing to undo: a claim wrote only into its own slot.
func (p *spscProducer) Abort() {}

func (p *spscProducer) Send(ctx context.Context, msg []byte, block bool) error {
	if p.head >= p.limit {
		if err := p.reserve(ctx, block); err != nil {
			return err
		}
	}
	p.put(msg)
	p.beat.at(p.head - 1) // outside put, which stays small enough to inline
	p.publishFrom(p.head - 1)
	return nil
}

func (p *spscProducer) ClaimBatch(ctx context.Context, max int) (uint64, int, error) {
	n, err := p.roomFor(ctx, uint64(max))
	return p.head, n, err
}

func (p *spscProducer) CommitBatch(k int, lens []uint32) {
	var bytes uint64
	for i, n := range lens[:k] {
		p.setLen(p.head+uint64(i), n)
		bytes += uint64(n)
	}
	p.publishBatch(k, bytes)
}

// SendBatch waits for a free slot first: a message beyond the slot size
// is reported only if it comes within the free slots.
func (p *spscProducer) SendBatch(ctx context.Context, msgs [][]byte, fit int) (int, error) {
	n, err := p.roomFor(ctx, uint64(len(msgs)))
	if err != nil {
		return 0, err
	}
	k := min(n, fit)
	var bytes uint64
	for i, m := range msgs[:k] {
		s := p.slot(p.head + uint64(i))
		copy(p.payloadAt(s, uint32(len(m))), m)
		p.setLenAt(s, uint32(len(m)))
		bytes += uint64(len(m))
	}
	p.publishBatch(k, bytes)
	if k < n {
		return k, errTooLargeSend
	}
	return k, nil
}

// publishBatch counts and publishes the k slots from head, which hold
// bytes of payload, written since: the per-batch work (stamps, counters)
// done once for the batch, never per message.
func (p *spscProducer) publishBatch(k int, bytes uint64) {
	first := p.head
	p.lat.stampRange(first, k)
	p.head += uint64(k)
	p.stats.Messages += uint64(k)
	p.stats.Bytes += bytes
	if k > 0 {
		p.publishFrom(first)
	}
	p.ctr.tick(&p.stats)
}

// put writes msg into the slot at head and advances head, unpublished.
func (p *spscProducer) put(msg []byte) {
	s := p.slot(p.head)
	copy(p.payloadAt(s, uint32(len(msg))), msg)
	p.setLenAt(s, uint32(len(msg)))
	p.head++
	p.stats.Messages++
	p.stats.Bytes += uint64(len(msg))
}

// publishFrom publishes positions first..head-1: one cursor store (and the
// wake-up check, shared with the consumer's release), then each slot's seq,
// so a consumer polling the next slot sees it without touching the cursor's
// line.
//
// SYNC POINT: slot seq. The slots' lengths and payloads are written before
// the cursor and seq stores; the consumer loads one of them, then reads the
// slot. The cursor goes first, so a consumer that saw a seq finds the
// cursor past it too. A sleeper re-checks the cursor, never the seq, so the
// seq stores may follow the wake-up.
//
// The slots' seq words are plain release stores whichever store publishes
// the cursor: they come after the cursor store and its look for a sleeper,
// so they take no part in the wake-up handshake (a sleeper re-checks the
// cursor), and an exchange each would cost a batch of 64 a fenced store
// per message while the consumer sleeps now and then (fencemode.go).
func (p *spscProducer) publishFrom(first uint64) {
	p.publish(p.head, p.head)
	for pos := first; pos < p.head; pos++ {
		fence.Store32(p.seq32(pos), uint32(pos+1), true)
	}
}

// roomFor makes up to n slots free at head and says how many: at least
// one, waited for.
func (p *spscProducer) roomFor(ctx context.Context, n uint64) (int, error) {
	if p.head+n > p.limit {
		if err := p.reserve(ctx, true); err != nil {
			return 0, err
		}
	}
	return int(min(n, p.limit-p.head)), nil
}

// refresh reloads the consumer's cursor into the cached limit.
//
// It also checks, once per refill of the cache (never per message), that
// the producer cursor still says what this handle last published: with no
// claim open, only this handle writes it. Anything else is a second writer
// — two goroutines on one Producer, or a stray process — caught before it
// laps the consumer and wrecks the ring for everyone.
//
// SYNC POINT: cursor (the consumer's). Loaded before the slots below it
// are written again.
func (p *spscProducer) refresh() error {
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
func (p *spscProducer) adoptConsumer(cons uint64) error {
	if cons > p.head || cons+p.slots < p.limit {
		return p.r.corrupt("consumer cursor=%d, producer head=%d known free below=%d", cons, p.head, p.limit)
	}
	p.limit = cons + p.slots
	return nil
}

// reserve refreshes the limit and, if no slot is free at head, waits for
// one (block) or reports ErrFull.
func (p *spscProducer) reserve(ctx context.Context, block bool) error {
	if err := p.refresh(); err != nil || p.head < p.limit {
		return err
	}
	p.stats.Full++
	if !block {
		return p.polled(ErrFull, p.head-p.slots+1, p.limit-p.slots)
	}
	cons, err := p.await(ctx, p.head-p.slots+1, p.limit-p.slots)
	if err != nil {
		return err
	}
	return p.adoptConsumer(cons)
}

// Close ends the stream: StateClosed tells the consumer that nothing
// follows what was published.
func (p *spscProducer) Close() error {
	if p.closed {
		return nil
	}
	p.limit = 0 // every later call takes the slow path, which reports ErrClosed
	return p.detach(layout.StateClosed)
}
