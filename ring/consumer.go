package ring

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// Consumer is the read side of a ring. One live Consumer exists per SPSC
// ring at a time, across all processes. Its methods must be called from
// one goroutine at a time.
type Consumer struct {
	endpoint
	impl  consumerImpl // MPMC and MPSC rings; nil for SPSC
	tail  uint64       // next position to read
	avail uint64       // positions below this are known published (cached producer cursor)
	held  uint64       // messages leased by Receive or ReceiveBatch and not yet released
	// leases counts the ends of leases (Release, Close): a Messages view
	// remembers the count it was made at, and is stale once it moved on.
	leases uint64
	// lens are the lengths of the messages ReceiveBatch leased, each read
	// once from its slot.
	lens []uint32
	// heldBytes is the payload of the held messages, counted into Stats
	// when they are released.
	heldBytes uint64
}

// Consumer takes the consumer role. It fails with ErrBusy while a live
// process (this one included) holds it. A role left by a process that died
// is taken over: the new consumer starts at the first message the dead one
// had not released, so a message it received but did not release is
// delivered again (at-least-once across a consumer's death).
//
// On an MPMC ring every call gives a new consumer, up to the ring's
// MaxConsumers live ones across all processes (then ErrBusy). A Broadcast
// ring has readers instead (Ring.Reader): Consumer returns ErrInvalid.
func (r *Ring) Consumer() (_ *Consumer, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	defer r.endGuard(&err, beginGuard())
	c := &Consumer{}
	c.r, c.unguarded = r, r.unguarded
	switch r.hdr.Kind {
	case MPMC, MPSC:
		impl, err := newMPMCConsumer(r, c)
		if err != nil {
			return nil, err
		}
		c.impl = impl
		r.track(c)
		return c, nil
	case Broadcast:
		return nil, fmt.Errorf("%w: ring=%s is a broadcast ring: take a Reader", ErrInvalid, r.name)
	}
	if err := c.attach(r, consumerRole); err != nil {
		return nil, err
	}
	tail, prod := c.own.cursor.Load(), c.peer.cursor.Load()
	if tail > prod || prod-tail > c.slots {
		r.unlockRole(consumerRole, c.lock)
		return nil, r.corrupt("consumer cursor=%d producer cursor=%d slots=%d", tail, prod, c.slots)
	}
	c.tail, c.avail = tail, tail
	c.announce()
	r.track(c)
	return c, nil
}

// Receive returns the next message, waiting for one as the wait strategy
// says. The slice is the message in place, in shared memory: read it, do
// not write it, and call Release when done; it is valid until then, and the
// producer cannot reuse its slot before. Receive while holding a message
// panics. At the end of a closed stream it returns ErrClosed.
func (c *Consumer) Receive(ctx context.Context) (_ []byte, err error) {
	if c.unguarded {
		return c.receive(ctx)
	}
	defer c.r.endGuard(&err, beginGuard())
	return c.receive(ctx)
}

func (c *Consumer) receive(ctx context.Context) ([]byte, error) {
	if c.impl != nil {
		return c.impl.Receive(ctx)
	}
	c.mustNotHold("Receive")
	if c.tail >= c.avail && !c.seqReady() {
		if err := c.fill(ctx); err != nil {
			return nil, err
		}
	}
	return c.lease()
}

// TryReceive is Receive without waiting: ErrEmpty when there is no message.
func (c *Consumer) TryReceive() (_ []byte, err error) {
	if c.unguarded {
		return c.tryReceive()
	}
	defer c.r.endGuard(&err, beginGuard())
	return c.tryReceive()
}

func (c *Consumer) tryReceive() ([]byte, error) {
	if c.impl != nil {
		return c.impl.TryReceive()
	}
	c.mustNotHold("TryReceive")
	if c.tail >= c.avail && !c.seqReady() {
		if err := c.tryFill(); err != nil {
			return nil, err
		}
	}
	return c.lease()
}

// Release frees the message (or batch) Receive leased, with one store.
// On an MPMC or MPSC ring it returns ErrRevoked when a peer took the lease
// back meanwhile, having found this consumer's process presumed dead: the
// message goes, or went, to another consumer as well. After Close (the
// consumer's or the ring's) it does nothing and returns ErrClosed, so a
// deferred Release is safe. Release without a received message panics.
func (c *Consumer) Release() (err error) {
	if c.closed {
		return ErrClosed
	}
	if c.unguarded {
		return c.releaseLease()
	}
	defer c.r.endGuard(&err, beginGuard())
	return c.releaseLease()
}

func (c *Consumer) releaseLease() error {
	c.leases++
	if c.impl != nil {
		return c.impl.Release()
	}
	if c.held == 0 {
		c.leases--
		panic("ring: Consumer.Release without a received message")
	}
	c.tail += c.held
	c.stats.Messages += c.held
	c.stats.Bytes += c.heldBytes
	c.held, c.heldBytes = 0, 0
	c.publish(c.tail)
	return nil
}

// Recv copies the next message into buf and releases it, waiting for one
// as the wait strategy says. A message longer than buf stays in the ring
// and Recv returns io.ErrShortBuffer.
func (c *Consumer) Recv(ctx context.Context, buf []byte) (_ int, err error) {
	if c.unguarded {
		return c.recv(ctx, buf)
	}
	defer c.r.endGuard(&err, beginGuard())
	return c.recv(ctx, buf)
}

func (c *Consumer) recv(ctx context.Context, buf []byte) (int, error) {
	if c.impl != nil {
		return c.impl.Recv(ctx, buf)
	}
	c.mustNotHold("Recv")
	if c.tail >= c.avail && !c.seqReady() {
		if err := c.fill(ctx); err != nil {
			return 0, err
		}
	}
	return c.take(buf)
}

// take copies the message at tail into buf and releases it.
func (c *Consumer) take(buf []byte) (int, error) {
	s := c.slot(c.tail)
	n := (*atomic.Uint32)(s).Load() // read once, checked, then used
	if n > c.slotSize {
		return 0, c.r.corrupt("slot length=%d at position=%d, slot size=%d", n, c.tail, c.slotSize)
	}
	if int(n) > len(buf) {
		return 0, fmt.Errorf("ring: message=%d bytes, buffer=%d: %w", n, len(buf), io.ErrShortBuffer)
	}
	copy(buf, unsafe.Slice((*byte)(unsafe.Add(s, layout.SlotPayloadOffset)), n))
	if !c.r.intact() { // after the copy: see guard.go
		return 0, c.r.errTruncated()
	}
	c.tail++
	c.stats.Messages++
	c.stats.Bytes += uint64(n)
	c.publish(c.tail)
	return int(n), nil
}

// TryRecv is Recv without waiting: ErrEmpty when there is no message.
func (c *Consumer) TryRecv(buf []byte) (_ int, err error) {
	if c.unguarded {
		return c.tryRecv(buf)
	}
	defer c.r.endGuard(&err, beginGuard())
	return c.tryRecv(buf)
}

func (c *Consumer) tryRecv(buf []byte) (int, error) {
	if c.impl != nil {
		return c.impl.TryRecv(buf)
	}
	c.mustNotHold("TryRecv")
	if c.tail >= c.avail && !c.seqReady() {
		if err := c.tryFill(); err != nil {
			return 0, err
		}
	}
	return c.take(buf)
}

// lease hands out the message at tail. Its length comes from shared memory:
// read once, bounds-checked, then used.
func (c *Consumer) lease() ([]byte, error) {
	m, err := c.message(c.tail)
	if err != nil {
		return nil, err
	}
	c.held, c.heldBytes = 1, uint64(len(m))
	return m, nil
}

// leased is the message at pos of a batch whose length n ReceiveBatch
// read: a slice of the mapping, made without touching it.
func (c *Consumer) leased(pos uint64, n uint32) ([]byte, error) {
	if n > c.slotSize {
		return nil, c.r.corrupt("slot length=%d at position=%d, slot size=%d", n, pos, c.slotSize)
	}
	return c.payload(pos, n), nil
}

func (c *Consumer) message(pos uint64) ([]byte, error) {
	n := (*atomic.Uint32)(c.slot(pos)).Load()
	if n > c.slotSize {
		return nil, c.r.corrupt("slot length=%d at position=%d, slot size=%d", n, pos, c.slotSize)
	}
	if !c.r.intact() {
		return nil, c.r.errTruncated()
	}
	return c.payload(pos, n), nil
}

// seqReady reports whether the slot at tail carries its position's seq,
// i.e. is published, learnt from the slot's own cache line instead of the
// producer's cursor line. Equality is all that is trusted: a stale seq is
// always another value (a slot is rewritten every lap, and fewer than 2^32
// slots make its previous lap's seq differ), and a forged one can at worst
// make the consumer read a slot early, whose length is still checked.
func (c *Consumer) seqReady() bool {
	if c.closed {
		return false
	}
	seq := (*atomic.Uint32)(unsafe.Add(c.slot(c.tail), layout.SlotSeqOffset))
	if seq.Load() != uint32(c.tail+1) {
		return false
	}
	c.avail = c.tail + 1
	return true
}

// tryFill reloads the producer's cursor; ErrEmpty if nothing is new, or
// ErrClosed at the end of a closed stream.
//
// As Producer.refresh does, it checks that the consumer cursor still says
// what this handle last released (nothing is held here): anything else is
// a second writer, two goroutines on one Consumer or a stray process.
func (c *Consumer) tryFill() error {
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

// fill waits until at least one message is published past tail.
func (c *Consumer) fill(ctx context.Context) error {
	err := c.tryFill()
	if err != ErrEmpty {
		return err
	}
	prod, err := c.await(ctx, c.tail+1)
	if err != nil {
		return err
	}
	return c.adoptProducer(prod)
}

// adoptProducer validates a producer cursor read from shared memory: it can
// neither go back nor run more than a ring ahead of what was released.
func (c *Consumer) adoptProducer(prod uint64) error {
	if prod < c.avail || prod-c.tail > c.slots {
		return c.r.corrupt("producer cursor=%d, consumer tail=%d known published below=%d", prod, c.tail, c.avail)
	}
	c.avail = prod
	return nil
}

func (c *Consumer) mustNotHold(op string) {
	if c.held != 0 {
		panic("ring: Consumer." + op + " while holding a message; Release it first")
	}
}

// Close gives up the consumer role; messages not yet released stay in the
// ring for the next consumer. Close is idempotent.
func (c *Consumer) Close() (err error) {
	defer c.r.endGuard(&err, beginGuard())
	defer c.r.untrack(c)
	if c.impl != nil {
		c.leases++
		c.closed = true
		defer c.impl.dropRole() // even when Close faults on a shrunk file
		return c.impl.Close()
	}
	if c.closed {
		return nil
	}
	c.held, c.heldBytes = 0, 0
	c.leases++
	c.avail = 0 // every later call takes the slow path, which reports ErrClosed
	return c.detach(0)
}

// Redelivered reports whether the message (or batch) that the last
// successful Receive, TryReceive, ReceiveBatch, Recv or TryRecv returned
// was held before by a consumer that died without releasing it, and is
// delivered again. The answer holds after Release (so it works with Recv,
// which releases before returning) until the next call returns a message;
// a call that fails leaves it as it was. Only MPMC and MPSC rings tell: an
// SPSC consumer that takes over a dead one's role gets such messages again
// unmarked.
func (c *Consumer) Redelivered() bool {
	if c.impl != nil {
		return c.impl.Redelivered()
	}
	return false
}

// SetWait sets how this consumer's blocking calls wait.
func (c *Consumer) SetWait(w WaitStrategy) {
	if c.impl != nil {
		c.impl.SetWait(w)
		return
	}
	c.wait = w
}

// Stats returns this consumer's counters.
func (c *Consumer) Stats() Stats {
	if c.impl != nil {
		return c.impl.Stats()
	}
	return c.stats
}
