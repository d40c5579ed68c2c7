package ring

import (
	"context"

	"github.com/shmring/shmring/layout"
)

// recSPSCConsumer is an SPSC record ring's consumerEngine (the invariants
// are in rec_spsc_producer.go).
type recSPSCConsumer struct {
	endpoint
	a     recArea
	tail  uint64 // next position to read: rel, or past what Recv took since
	rel   uint64 // the cursor as this handle last stored it
	avail uint64 // positions below it are known published (cached producer cursor)
	// The lease: the records Receive or ReceiveBatch handed out, and the
	// position after the last of them.
	spans     []recSpan
	heldEnd   uint64
	heldBytes uint64
	// Sequence numbers only grow (a producer numbers on from RecSeq), so
	// a record numbered below one this handle consumed is an old lap's,
	// shown again by a cursor moved a whole ring on: nextSeq is the least
	// number the record at tail may carry, heldSeq what follows the lease.
	nextSeq, heldSeq uint64
}

// recSpan is a leased message: where its payload starts, and its checked
// length.
type recSpan struct {
	body uint64
	n    uint32
}

func newRecSPSCConsumer(r *Ring) (*recSPSCConsumer, error) {
	c := &recSPSCConsumer{a: r.recArea()}
	prod, tail, err := c.attach(r, consumerRole)
	if err != nil {
		return c, err
	}
	if !aligned(prod) || !aligned(tail) {
		c.detach(0)
		return c, r.corrupt("record cursors producer=%d consumer=%d are not multiples of %d", prod, tail, layout.RecordAlign)
	}
	c.tail, c.rel, c.avail = tail, tail, tail
	return c, nil
}

// peek returns the next message's record at tail, waiting for one
// (block) or reporting ErrEmpty.
func (c *recSPSCConsumer) peek(ctx context.Context, block bool) (record, error) {
	if c.tail >= c.avail {
		if err := c.fill(ctx, block); err != nil {
			return record{}, err
		}
	}
	rec, ok := c.a.read(c.tail, c.avail)
	if !ok {
		return rec, c.badRecord(c.tail)
	}
	if rec.seq < c.nextSeq {
		return rec, c.staleRecord(c.tail, rec.seq, c.nextSeq)
	}
	return rec, nil
}

func (c *recSPSCConsumer) badRecord(pos uint64) error {
	return c.r.corrupt("record header at position=%d (published below %d) is no record this ring's producer writes", pos, c.avail)
}

func (c *recSPSCConsumer) staleRecord(pos, seq, least uint64) error {
	return c.r.corrupt("record at position=%d is message %d, after message %d: an earlier lap's (the producer cursor was moved a ring on?)", pos, seq, least-1)
}

func (c *recSPSCConsumer) Receive(ctx context.Context, block bool) ([]byte, error) {
	rec, err := c.peek(ctx, block)
	if err != nil {
		return nil, err
	}
	if !c.r.intact() {
		return nil, c.r.errTruncated()
	}
	c.spans = append(c.spans[:0], recSpan{rec.body, rec.n})
	c.heldEnd, c.heldBytes, c.heldSeq = rec.next, uint64(rec.n), rec.seq+1
	return c.a.payload(rec.body, rec.n), nil
}

// Release frees the leased records with one cursor store.
func (c *recSPSCConsumer) Release() error {
	c.published = false
	c.stats.Messages += uint64(len(c.spans))
	c.stats.Bytes += c.heldBytes
	c.spans, c.heldBytes = c.spans[:0], 0
	c.tail, c.nextSeq = c.heldEnd, c.heldSeq
	c.rel = c.tail
	c.publish(c.tail, c.tail)
	c.ctr.tick(&c.stats)
	return nil
}

func (c *recSPSCConsumer) Recv(ctx context.Context, buf []byte, block bool) (int, error) {
	c.published = false
	rec, err := c.peek(ctx, block)
	if err != nil {
		return 0, err
	}
	if int(rec.n) > len(buf) {
		return 0, shortBuffer(rec.n, buf)
	}
	copy(buf, c.a.payload(rec.body, rec.n))
	if !c.r.intact() { // after the copy: see guard.go
		return 0, c.r.errTruncated()
	}
	c.tail, c.rel, c.nextSeq = rec.next, rec.next, rec.seq+1
	c.stats.Messages++
	c.stats.Bytes += uint64(rec.n)
	c.tookLen = int(rec.n)
	c.publish(c.tail, c.tail)
	c.ctr.tick(&c.stats)
	return int(rec.n), nil
}

// ReceiveBatch leases up to max published messages, at least one, each
// header read once and checked here: at hands out the checked spans and
// touches no shared memory. A batch that reaches the cached producer
// cursor before max reloads it once, as a slot ring's batch does: it
// takes what is published when it is made.
func (c *recSPSCConsumer) ReceiveBatch(ctx context.Context, max int, lens []uint32) (uint64, []uint32, error) {
	rec, err := c.peek(ctx, true)
	if err != nil {
		return 0, lens, err
	}
	start := c.tail
	c.spans = append(c.spans[:0], recSpan{rec.body, rec.n})
	lens = append(lens, rec.n)
	end, bytes, seq, reloaded := rec.next, uint64(rec.n), rec.seq, false
	for len(c.spans) < max {
		if end >= c.avail {
			if reloaded || c.closed { // closed: the Ring's Close zeroed avail, which stays so
				break
			}
			reloaded = true
			if err := c.adoptProducer(c.peer.cursor.Load()); err != nil { // SYNC POINT: cursor, as in fill
				return 0, lens, err
			}
			if end >= c.avail {
				break
			}
		}
		next, ok := c.a.read(end, c.avail)
		if !ok {
			return 0, lens, c.badRecord(end)
		}
		if next.seq <= seq {
			return 0, lens, c.staleRecord(end, next.seq, seq+1)
		}
		c.spans = append(c.spans, recSpan{next.body, next.n})
		lens = append(lens, next.n)
		bytes += uint64(next.n)
		end, seq = next.next, next.seq
	}
	if !c.r.intact() { // before handing records out in place: see guard.go
		return 0, lens, c.r.errTruncated()
	}
	c.heldEnd, c.heldBytes, c.heldSeq = end, bytes, seq+1
	return start, lens, nil
}

// at is the i-th message of the lease, from its checked span: ErrStale
// once the lease is gone, which the Ring's Close, on another goroutine,
// may make it between the caller's check and here (spans read once).
func (c *recSPSCConsumer) at(i int) ([]byte, error) {
	spans := c.spans
	if i >= len(spans) {
		return nil, ErrStale
	}
	return c.a.payload(spans[i].body, spans[i].n), nil
}

func (c *recSPSCConsumer) Redelivered() bool { return false }

// fill reloads the producer's cursor and, if nothing is published past
// tail, waits until something is (block) or reports ErrEmpty (or
// ErrClosed at the end of a closed stream).
//
// SYNC POINT: cursor (the producer's). Loaded before the records below it
// are read.
func (c *recSPSCConsumer) fill(ctx context.Context, block bool) error {
	if c.closed {
		return ErrClosed
	}
	if own := c.own.cursor.Load(); own != c.rel {
		return c.r.corrupt("consumer cursor=%d, but this handle released up to %d: a second writer moved it (two goroutines on one Consumer?)", own, c.rel)
	}
	if err := c.adoptProducer(c.peer.cursor.Load()); err != nil || c.tail < c.avail {
		return err
	}
	c.stats.Empty++
	if err := c.closedShort(c.tail + 1); err != nil {
		return err
	}
	if !block {
		return c.polled(ErrEmpty, c.tail+1, c.avail)
	}
	prod, err := c.await(ctx, c.tail+1, c.avail)
	if err != nil {
		return err
	}
	return c.adoptProducer(prod)
}

// adoptProducer validates a producer cursor read from shared memory: a
// record boundary that neither goes back nor runs more than a ring ahead
// of what was released.
func (c *recSPSCConsumer) adoptProducer(prod uint64) error {
	if prod < c.avail || prod-c.rel > c.a.cap || !aligned(prod) {
		return c.r.corrupt("producer cursor=%d, consumer released=%d known published below=%d", prod, c.rel, c.avail)
	}
	c.avail = prod
	return nil
}

// Close gives up the role; records not yet released stay for the next
// consumer.
func (c *recSPSCConsumer) Close() error {
	if c.closed {
		return nil
	}
	c.spans, c.heldBytes = c.spans[:0], 0
	c.avail = 0 // every later call takes the slow path, which reports ErrClosed
	return c.detach(0)
}
