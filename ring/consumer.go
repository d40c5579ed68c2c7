package ring

import (
	"context"
	"fmt"
	"io"
)

// Consumer is the read side of a ring. One live Consumer exists per SPSC
// ring at a time, across all processes. Its methods must be called from
// one goroutine at a time.
//
// A Consumer is the ring kind's engine (spsc_consumer.go, mpmc_consumer.go)
// behind the calls' contract, as a Producer is.
type Consumer struct {
	_         noCopy
	r         *Ring
	e         consumerEngine
	g         slotArea // the engine's slots, for Messages
	unguarded bool     // Options.Unguarded: no fault guard (guard.go)
	held      bool     // a message or batch is leased and not yet released
	closed    bool
	// leases counts the ends of leases (Release, Close): a Messages view
	// remembers the count it was made at, and is stale once it moved on.
	leases uint64
	// lens are the lengths of the messages ReceiveBatch leased, each read
	// once from its slot.
	lens []uint32
	rec  recConsumer // a record ring's engine (rec_facade.go); nil on slot rings
}

// consumerEngine is one kind's read side. Its calls come from the Consumer,
// under the fault guard, with the contract checked: a receive call only
// with nothing held, Release only with something held.
type consumerEngine interface {
	// Receive and Recv wait for a message as the wait strategy says if
	// block is set; else they report ErrEmpty (the Try calls).
	Receive(ctx context.Context, block bool) ([]byte, error)
	Release() error
	Recv(ctx context.Context, buf []byte, block bool) (int, error)
	// ReceiveBatch leases up to max messages (at least one) from start
	// and appends their lengths, each read once, to lens.
	ReceiveBatch(ctx context.Context, max int, lens []uint32) (start uint64, _ []uint32, err error)
	Redelivered() bool
	SetWait(w WaitStrategy)
	Stats() Stats
	// Close lets go of the role even when it faults on a shrunk file.
	Close() error
	interrupt()
	// consumed reports whether the Recv or Release in progress has
	// consumed (stored its cursor), and Recv's length.
	consumed() (n int, ok bool)
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
	if r.missing() {
		return nil, errNoRing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	defer r.endGuard(&err, beginGuard())
	if err := r.shrunk(); err != nil { // before any lock is taken: a role on a cut file is dead
		return nil, err
	}
	var e consumerEngine
	switch r.hdr.Kind {
	case MPMC, MPSC:
		e, err = newMPMCConsumer(r)
	case Broadcast:
		return nil, fmt.Errorf("%w: ring=%s is a broadcast ring: take a Reader", ErrInvalid, r.name)
	default:
		if r.hdr.Records {
			e, err = newRecSPSCConsumer(r)
		} else {
			e, err = newSPSCConsumer(r)
		}
	}
	if err != nil {
		return nil, err
	}
	c := &Consumer{r: r, e: e, g: r.slotArea(), unguarded: r.unguarded}
	c.rec, _ = e.(recConsumer)
	r.track(c)
	return c, nil
}

// Receive returns the next message, waiting for one as the wait strategy
// says. The slice is the message in place, in shared memory: read it, do
// not write it, and call Release when done; it is valid until then (or
// the Ring's Close, which unmaps it: see Ring.Close), and the producer
// cannot reuse its slot before. Receive while holding a message panics.
// At the end of a closed stream it returns ErrClosed.
func (c *Consumer) Receive(ctx context.Context) (_ []byte, err error) {
	if c.missing() {
		return nil, errNoConsumer
	}
	if !c.unguarded {
		defer c.r.endGuard(&err, beginGuard())
	}
	if err := c.notHolding("Receive"); err != nil {
		return nil, err
	}
	return c.leased(c.e.Receive(ctx, true))
}

// TryReceive is Receive without waiting: ErrEmpty when there is no message.
func (c *Consumer) TryReceive() (_ []byte, err error) {
	if c.missing() {
		return nil, errNoConsumer
	}
	if !c.unguarded {
		defer c.r.endGuard(&err, beginGuard())
	}
	if err := c.notHolding("TryReceive"); err != nil {
		return nil, err
	}
	return c.leased(c.e.Receive(context.Background(), false))
}

// leased records a lease of one message, if the engine made one. A call
// that failed writes nothing: Ring.Close may be closing the handle from
// another goroutine as it returns.
func (c *Consumer) leased(m []byte, err error) ([]byte, error) {
	if err == nil {
		c.held = true
	}
	return m, err
}

// Release frees the message (or batch) Receive leased, with one store.
// On an MPMC or MPSC ring it returns ErrRevoked when a peer took the lease
// back meanwhile, having found this consumer's process presumed dead: the
// message goes, or went, to another consumer as well; where it took back
// only the rest of a batch this Release had begun to free, a
// *PartialReleaseError (also ErrRevoked) counts the ones consumed here.
// After Close (the
// consumer's or the ring's) it does nothing and returns ErrClosed, so a
// deferred Release is safe. A Release the Ring's Close cuts on another
// goroutine returns nil if it freed everything it held (consumed); on an
// MPMC or MPSC ring, an ErrClosed that says how many of a batch were
// consumed if it freed some (a *PartialReleaseError, whose Consumed
// counts them), the rest coming again to another consumer. Release
// without a received message panics.
func (c *Consumer) Release() (err error) {
	if c.missing() {
		return errNoConsumer
	}
	// The ring's closing flag first: a Receive that the ring's Close woke
	// with ErrClosed returns before Close has marked this handle closed,
	// and a deferred Release must then neither panic nor touch the handle
	// Close is closing from its own goroutine.
	if c.r.closing.Load() || c.closed {
		return ErrClosed
	}
	if !c.unguarded {
		defer c.endGuardConsumed(nil, &err, beginGuard())
	}
	if !c.held {
		if c.r.closing.Load() || c.closed { // the ring's Close ran meanwhile
			return ErrClosed
		}
		panic("ring: Consumer.Release without a received message")
	}
	c.held = false
	c.leases++
	return c.e.Release()
}

// Recv copies the next message into buf and releases it, waiting for one
// as the wait strategy says. A message longer than buf stays in the ring
// and Recv returns io.ErrShortBuffer.
func (c *Consumer) Recv(ctx context.Context, buf []byte) (n int, err error) {
	if c.missing() {
		return 0, errNoConsumer
	}
	if !c.unguarded {
		defer c.endGuardConsumed(&n, &err, beginGuard())
	}
	if err := c.notHolding("Recv"); err != nil {
		return 0, err
	}
	return c.e.Recv(ctx, buf, true)
}

// TryRecv is Recv without waiting: ErrEmpty when there is no message.
func (c *Consumer) TryRecv(buf []byte) (n int, err error) {
	if c.missing() {
		return 0, errNoConsumer
	}
	if !c.unguarded {
		defer c.endGuardConsumed(&n, &err, beginGuard())
	}
	if err := c.notHolding("TryRecv"); err != nil {
		return 0, err
	}
	return c.e.Recv(context.Background(), buf, false)
}

// notHolding panics when the consumer holds a message: a receive before
// its Release is a misuse. Once the Ring's Close has begun it says
// ErrClosed instead: a Release that raced that Close returned ErrClosed
// without ending the lease (Close ends it from its own goroutine), and the
// caller did nothing wrong.
func (c *Consumer) notHolding(op string) error {
	if !c.held {
		return nil
	}
	if c.closed || c.r.closing.Load() {
		return ErrClosed
	}
	panic("ring: Consumer." + op + " while holding a message; Release it first")
}

// shortBuffer is what a copying receive returns, the message left in
// place, when buf cannot hold its n bytes.
func shortBuffer(n uint32, buf []byte) error {
	return fmt.Errorf("ring: message=%d bytes, buffer=%d: %w", n, len(buf), io.ErrShortBuffer)
}

// Close gives up the consumer role; messages not yet released stay in the
// ring for the next consumer, a message (or batch) received and still held
// included: what was not released was not consumed. On an MPMC or MPSC ring
// Close leaves them, with any message this consumer took and never handed
// out (one a Recv left for io.ErrShortBuffer, or ones taken over from a
// dead consumer), in its entry for the next consumer to reap, as it would a
// dead one's, and that consumer delivers them, marked Redelivered: first,
// when it joins in that entry; otherwise once it finds the ring empty and
// probes its peers (a waiting consumer once a tick; a Try call on the probe
// schedule of ErrPeerDead, each tick or 16 polls, whichever is later, so
// the first TryRecv to find the ring empty may say ErrEmpty with them still
// to come; any consumer before it reports the end of the stream). A producer waiting on a full
// ring meanwhile goes on waiting, as after any clean Close: Close first
// reaps the entries of consumers that died, which would otherwise leave
// the producer to say every consumer died (ErrPeerDead). The Ring's
// Close, which may run while a call on another goroutine is inside this
// consumer, always leaves the entry so, whatever it seems to hold, and
// lets go of its lock only once the ring is unmapped: a message that call
// took without returning it is delivered again (not so with
// Options.Unguarded, where the mapping stays and such a call may take one
// after the lock is gone). It reaps no dead consumer's entry (that would
// change what the call inside reads), so where one died earlier a waiting
// producer may say ErrPeerDead: close the last consumer with its own
// Close before its Ring's for the clean end. Close is idempotent. It is
// one of the consumer's calls: it must not run while another goroutine is
// inside one (a Recv blocked on an empty ring included, which would stay
// blocked and might take a message the next consumer gets too); end such
// a call with its context, or with the Ring's Close, which may run
// meanwhile.
func (c *Consumer) Close() (err error) {
	if c.missing() {
		return errNoConsumer
	}
	defer c.r.endGuard(&err, beginGuard())
	defer c.r.untrack(c)
	if !c.closed {
		c.closed, c.held = true, false
		c.leases++
	}
	return c.e.Close()
}

// Redelivered reports whether the message (or batch) that the last
// successful Receive, TryReceive, ReceiveBatch, Recv or TryRecv returned
// was held before by a consumer that died without releasing it, and is
// delivered again; or that a consumer left unreleased at its Close (held,
// left by a Recv into a short buffer, or adopted from a dead consumer: see
// Close). The answer holds after Release (so it
// works with Recv, which releases before returning) until the next call
// returns a message; a call that fails leaves it as it was. Only MPMC and
// MPSC rings tell: an SPSC consumer that takes over a dead one's role gets
// such messages again unmarked.
func (c *Consumer) Redelivered() bool {
	if c.missing() {
		return false
	}
	return c.e.Redelivered()
}

// SetWait sets how this consumer's blocking calls wait. It also forgets
// when the Try calls' next probe of the peers is due: that was reckoned
// with the old Tick.
func (c *Consumer) SetWait(w WaitStrategy) {
	if c.missing() {
		return
	}
	c.e.SetWait(w)
}

// Stats returns this consumer's counters.
// They are stored in the ring file as well, as a Producer's are, and like
// Producer.Stats it is one of the handle's calls: read the file to watch
// them from another goroutine.
func (c *Consumer) Stats() Stats {
	if c.missing() {
		return Stats{}
	}
	c.r.flushStats(c.e)
	return c.e.Stats()
}
