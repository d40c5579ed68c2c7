package ring

import "context"

// spscConsumer is an SPSC ring's consumerEngine.
type spscConsumer struct {
	endpoint
	tail  uint64 // next position to read
	avail uint64 // positions below this are known published (cached producer cursor)
	held  uint64 // messages leased by Receive or ReceiveBatch and not yet released
	// heldBytes is the payload of the held messages, counted into Stats
	// when they are released.
	heldBytes uint64
}

func newSPSCConsumer(r *Ring) (*spscConsumer, error) {
	c := &spscConsumer{}
	_, tail, err := c.attach(r, consumerRole)
	c.tail, c.avail, c.bySeq = tail, tail, true
	return c, err
}

func (c *spscConsumer) Receive(ctx context.Context, block bool) ([]byte, error) {
	if c.tail >= c.avail && !c.seqReady() {
		if err := c.fill(ctx, block); err != nil {
			return nil, err
		}
	}
	return c.lease()
}

func (c *spscConsumer) Recv(ctx context.Context, buf []byte, block bool) (int, error) {
	c.published = false
	if c.tail >= c.avail && !c.seqReady() {
		if err := c.fill(ctx, block); err != nil {
			return 0, err
		}
	}
	return c.take(buf)
}

// Release frees the held messages with one cursor store.
func (c *spscConsumer) Release() error {
	c.published = false
	c.tail += c.held
	c.stats.Messages += c.held
	c.stats.Bytes += c.heldBytes
	c.held, c.heldBytes = 0, 0
	c.publish(c.tail, c.tail)
	c.ctr.tick(&c.stats)
	return nil
}

// lease hands out the message at tail. Its length comes from shared memory:
// read once, bounds-checked, then used.
func (c *spscConsumer) lease() ([]byte, error) {
	s := c.slot(c.tail)
	n := c.lengthAt(s).Load()
	if n > c.slotSize {
		return nil, c.badLength(c.r, c.tail, n)
	}
	if !c.r.intact() {
		return nil, c.r.errTruncated()
	}
	c.held, c.heldBytes = 1, uint64(n)
	c.beat.at(c.tail)
	return c.payloadAt(s, n), nil
}

// take copies the message at tail into buf and releases it.
func (c *spscConsumer) take(buf []byte) (int, error) {
	s := c.slot(c.tail)
	n := c.lengthAt(s).Load() // read once, checked, then used
	if n > c.slotSize {
		return 0, c.badLength(c.r, c.tail, n)
	}
	if int(n) > len(buf) {
		return 0, shortBuffer(n, buf)
	}
	copy(buf, c.payloadAt(s, n))
	if !c.r.intact() { // after the copy: see guard.go
		return 0, c.r.errTruncated()
	}
	c.tail++
	c.stats.Messages++
	c.stats.Bytes += uint64(n)
	c.beat.at(c.tail - 1)
	c.tookLen = int(n)
	c.publish(c.tail, c.tail)
	return int(n), nil
}

// ReceiveBatch leases up to max published messages, at least one. Each
// length is read once, here, under the caller's guard: Messages.At then
// hands out the checked value and touches no shared memory (an
// out-of-range one stays out of range, for At to report).
func (c *spscConsumer) ReceiveBatch(ctx context.Context, max int, lens []uint32) (uint64, []uint32, error) {
	if c.tail+uint64(max) > c.avail {
		if err := c.fill(ctx, true); err != nil {
			return 0, lens, err
		}
	}
	n := min(uint64(max), c.avail-c.tail)
	var bytes uint64
	for pos := c.tail; pos < c.tail+n; pos++ {
		l := c.length(pos).Load()
		lens = append(lens, l)
		bytes += uint64(min(l, c.slotSize))
	}
	if !c.r.intact() { // before handing slots out in place: see guard.go
		return 0, lens, c.r.errTruncated()
	}
	c.held, c.heldBytes = n, bytes
	c.lat.observeRange(c.tail, int(n))
	return c.tail, lens, nil
}

// Redelivered: an SPSC consumer that takes over a dead one's role gets its
// unreleased messages again, unmarked.
func (c *spscConsumer) Redelivered() bool { return false }

// seqReady reports whether the slot at tail carries its position's seq,
// i.e. is published, learnt from the slot's own cache line instead of the
// producer's cursor line. Equality is all that is trusted: a stale seq is
// always another value (a slot is rewritten every lap, and fewer than 2^32
// slots make its previous lap's seq differ), and a forged one can at worst
// make the consumer read a slot early, whose length is still checked.
//
// SYNC POINT: slot seq. Loaded before the slot's length and payload.
func (c *spscConsumer) seqReady() bool {
	if c.closed || c.seq32(c.tail).Load() != uint32(c.tail+1) {
		return false
	}
	c.avail = c.tail + 1
	return true
}

// tryFill reloads the producer's cursor; ErrEmpty if nothing is new, or
// ErrClosed at the end of a closed stream.
//
// As spscProducer.refresh does, it checks that the consumer cursor still
// says what this handle last released (nothing is held here): anything
// else is a second writer, two goroutines on one Consumer or a stray
// process.
//
// SYNC POINT: cursor (the producer's). Loaded before the slots below it
// are read.
func (c *spscConsumer) tryFill() error {
	if c.closed {
		return ErrClosed
	}
	if own := c.own.cursor.Load(); own != c.tail {
		return c.r.corrupt("consumer cursor=%d, but this handle released up to %d: a second writer moved it (two goroutines on one Consumer?)", own, c.tail)
	}
	if err := c.adoptProducer(c.peer.cursor.Load()); err != nil {
		return err
	}
	if c.tail < c.avail {
		return nil
	}
	c.stats.Empty++
	if err := c.closedShort(c.tail + 1); err != nil {
		return err
	}
	return ErrEmpty
}

// fill reloads the producer's cursor and, if nothing is published past
// tail, waits until something is (block) or reports ErrEmpty.
func (c *spscConsumer) fill(ctx context.Context, block bool) error {
	err := c.tryFill()
	if err != ErrEmpty {
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

// adoptProducer validates a producer cursor read from shared memory: it can
// neither go back nor run more than a ring ahead of what was released.
func (c *spscConsumer) adoptProducer(prod uint64) error {
	if prod < c.avail || prod-c.tail > c.slots {
		return c.r.corrupt("producer cursor=%d, consumer tail=%d known published below=%d", prod, c.tail, c.avail)
	}
	c.avail = prod
	return nil
}

// Close gives up the role; messages not yet released stay in the ring for
// the next consumer.
func (c *spscConsumer) Close() error {
	if c.closed {
		return nil
	}
	c.held, c.heldBytes = 0, 0
	c.avail = 0 // every later call takes the slow path, which reports ErrClosed
	return c.detach(0)
}
