package ring

// The SPSC record engine (LAYOUT.md section 17): the SPSC engine's sides,
// words, waits and publishing stores (spsc.go, wait.go, fencemode.go) over
// a ring of bytes instead of slots.
//
// Invariants:
//   - Cursors count bytes and are multiples of RecordAlign; each only
//     grows and only its own side stores it. consumer cursor <= producer
//     cursor <= consumer cursor + capacity, checked whenever one side
//     loads the other's (never per message): anything else is ErrCorrupt.
//   - Every message is contiguous: a record that does not fit before the
//     end of the data area is a wrapped one, its header before the end and
//     its payload at the next lap's start (rec.go, place).
//   - A record's header and payload are written before the cursor store
//     that publishes them and read only after a load of the cursor that
//     saw it. Each header is read once, checked (rec.go) and then used.
//   - The producer writes bytes only below the consumer's cursor plus the
//     capacity; the consumer's lease keeps its records below its cursor
//     until Release.

import (
	"context"
	"sync/atomic"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// recSPSCProducer is an SPSC record ring's producerEngine.
type recSPSCProducer struct {
	endpoint
	a     recArea
	seqW  *atomic.Uint64 // RecSeq
	head  uint64         // next position to write: pub, or past records put and not yet published (a batch)
	pub   uint64         // the cursor as this handle last stored it
	limit uint64         // positions below it are known free (cached consumer cursor + capacity)
	seq   uint64         // the next message's sequence number
	claim uint64         // where the open claim's record starts
	body  uint64         // where its payload starts
}

func newRecSPSCProducer(r *Ring) (*recSPSCProducer, error) {
	p := &recSPSCProducer{a: r.recArea(), seqW: r.recSeqWord()}
	head, cons, err := p.attach(r, producerRole)
	if err != nil {
		return p, err
	}
	if !aligned(head) || !aligned(cons) {
		p.detach(0)
		return p, r.corrupt("record cursors producer=%d consumer=%d are not multiples of %d", head, cons, layout.RecordAlign)
	}
	p.head, p.pub, p.limit = head, head, cons+p.a.cap
	p.seq = p.seqW.Load() // a number for tools and readers to count by; any value will do
	p.sent = p.seq        // publishHead sets it to seq: a count from here
	return p, nil
}

// ClaimN makes room for a record of n payload bytes at head (wrapped,
// if it would cross the end of the data area) and returns its payload.
func (p *recSPSCProducer) ClaimN(ctx context.Context, n uint32, block bool) ([]byte, error) {
	body, next := p.a.place(p.head, n)
	if next > p.limit {
		if err := p.reserve(ctx, next-p.head, block); err != nil {
			return nil, err
		}
	}
	p.claim, p.body = p.head, body
	return p.a.payload(body, n), nil
}

func (p *recSPSCProducer) Claim(ctx context.Context, block bool) ([]byte, error) {
	return p.ClaimN(ctx, p.a.max, block)
}

func (p *recSPSCProducer) Commit(n int) error {
	p.put(uint32(n))
	p.publishHead()
	return nil
}

// put writes the header of the claimed record, n bytes long, and moves
// head past it, unpublished.
func (p *recSPSCProducer) put(n uint32) {
	p.a.writeHeader(p.claim, p.body, n, p.seq)
	p.head = p.body + layout.RecordBody(n)
	p.seq++
	p.stats.Messages++
	p.stats.Bytes += uint64(n)
}

// Abort drops the claim: nothing of it was written.
func (p *recSPSCProducer) Abort() {}

func (p *recSPSCProducer) Send(ctx context.Context, msg []byte, block bool) error {
	s, err := p.ClaimN(ctx, uint32(len(msg)), block)
	if err != nil {
		return err
	}
	copy(s, msg)
	p.put(uint32(len(msg)))
	p.publishHead()
	return nil
}

// ClaimBatch on a record ring claims one message of up to MaxMessage
// bytes: records have no fixed size to claim many of.
func (p *recSPSCProducer) ClaimBatch(ctx context.Context, _ int) (uint64, int, error) {
	if _, err := p.ClaimN(ctx, p.a.max, true); err != nil {
		return 0, 0, err
	}
	return p.claim, 1, nil
}

func (p *recSPSCProducer) batchSlot() []byte { return p.a.payload(p.body, p.a.max) }

func (p *recSPSCProducer) CommitBatch(k int, lens []uint32) {
	if k == 0 {
		p.Abort()
		return
	}
	p.Commit(int(lens[0]))
}

func (p *recSPSCProducer) SendBatch(ctx context.Context, msgs [][]byte, fit int) (int, error) {
	return sendRecords(ctx, p, msgs, fit)
}

// fits reports whether a record of n bytes fits at head now, reloading
// the consumer's cursor when the cached limit says no.
func (p *recSPSCProducer) fits(n uint32) bool {
	_, next := p.a.place(p.head, n)
	return next <= p.limit || p.refresh() == nil && next <= p.limit
}

// publishHead publishes every record below head: the sequence word, then
// the cursor (endpoint.publish: SYNC POINT cursor). The counters' cadence
// is checked once per publish, after the store: positions count bytes, so
// there is no beat, only tick's one comparison of the message count.
func (p *recSPSCProducer) publishHead() {
	fence.Store64(p.seqW, p.seq, p.release)
	p.pub = p.head
	p.publish(p.head, p.seq)
	p.ctr.tick(&p.stats)
}

// refresh reloads the consumer's cursor into the cached limit, checking
// first that the producer cursor still says what this handle published
// (spscProducer.refresh says why).
//
// SYNC POINT: cursor (the consumer's). Loaded before the bytes below it
// are written again.
func (p *recSPSCProducer) refresh() error {
	if p.closed {
		return ErrClosed
	}
	if own := p.own.cursor.Load(); own != p.pub {
		return p.r.corrupt("producer cursor=%d, but this handle published up to %d: a second writer moved it (two goroutines on one Producer?)", own, p.pub)
	}
	return p.adoptConsumer(p.peer.cursor.Load())
}

// adoptConsumer validates a consumer cursor read from shared memory: a
// record boundary that neither goes back nor passes what was published.
func (p *recSPSCProducer) adoptConsumer(cons uint64) error {
	if cons > p.pub || cons+p.a.cap < p.limit || !aligned(cons) {
		return p.r.corrupt("consumer cursor=%d, producer published=%d known free below=%d", cons, p.pub, p.limit)
	}
	p.limit = cons + p.a.cap
	return nil
}

// reserve makes need bytes free at head: waited for (block), or ErrFull.
func (p *recSPSCProducer) reserve(ctx context.Context, need uint64, block bool) error {
	if err := p.refresh(); err != nil || p.head+need <= p.limit {
		return err
	}
	p.stats.Full++
	if !block {
		return p.polled(ErrFull, p.head+need-p.a.cap, p.limit-p.a.cap)
	}
	for p.head+need > p.limit {
		cons, err := p.await(ctx, p.head+need-p.a.cap, p.limit-p.a.cap)
		if err != nil {
			return err
		}
		if err := p.adoptConsumer(cons); err != nil {
			return err
		}
	}
	return nil
}

// Close ends the stream (spscProducer.Close).
func (p *recSPSCProducer) Close() error {
	if p.closed {
		return nil
	}
	p.limit = 0 // every later call takes the slow path, which reports ErrClosed
	return p.detach(layout.StateClosed)
}
