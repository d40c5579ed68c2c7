package ring

import (
	"context"
	"fmt"

	"github.com/shmring/shmring/layout"
)

// mpmcConsumer is the read side of an MPMC or MPSC ring, behind Consumer,
// which checks every call's contract before it gets here.
type mpmcConsumer struct {
	mpmcHandle

	// The lease: n consecutive positions from start, held in Reading
	// with this handle's owner stamp until Release.
	start       uint64
	n           int
	heldBytes   uint64
	redelivered bool // the position next handed out is a redelivery
	// lastRedelivered is Redelivered's answer: whether the message the
	// last successful receive call (any of them) returned was a
	// redelivery. Kept after Release (Recv releases before it returns).
	lastRedelivered bool

	// adopted holds positions this handle took over from a dead consumer
	// (Reading, restamped with this handle's owner), handed out before
	// the ring's own; pending is a leased message Recv could not copy
	// (short buffer), handed out again first.
	adopted        []uint64
	pending        uint64
	hasPending     bool
	pendingRedeliv bool

	// The slot an empty Try found blocking, and how often in a row: a
	// Try-only consumer probes the blocker's liveness now and then.
	blockPos, blockW uint64
	blockTries       int
}

func newMPMCConsumer(r *Ring) (*mpmcConsumer, error) {
	c := &mpmcConsumer{adopted: make([]uint64, 0, 8)}
	c.onAdopt = c.adopt
	if err := c.attach(r, true); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *mpmcConsumer) adopt(pos uint64) { c.adopted = append(c.adopted, pos) }

// tryTake leases the position at the head: ErrEmpty when nothing is
// published there, ErrClosed or ErrPeerDead once the stream has ended and
// everything published was taken.
func (c *mpmcConsumer) tryTake() (uint64, error) {
	if c.closed {
		return 0, ErrClosed
	}
	for {
		h := c.head.Load()
		if err := c.hint(h, &c.seenHead, "head"); err != nil {
			return 0, err
		}
		cw := c.ctrl(h)
		w := cw.Load()
		d, st, err := c.check(w, h)
		if err != nil {
			return 0, err
		}
		switch {
		case d == 0 && st == layout.SlotFull:
			atStep(stepBeforeReceive)
			// SYNC POINT: publish (the consumer's half). After this CAS
			// the length and payload the producer wrote are visible.
			if cw.CompareAndSwap(w, layout.Ctrl(h, layout.SlotReading, c.owner)) {
				atStep(stepAfterReceive)
				c.head.CompareAndSwap(h, h+1)
				return h, nil
			}
		case d == 0 && st == layout.SlotSkipped:
			if cw.CompareAndSwap(w, layout.Ctrl(h+c.slots, layout.SlotFree, 0)) {
				c.stats.Skipped++
				c.wakeSpace()
			}
			c.head.CompareAndSwap(h, h+1)
		case d == 0 && st == layout.SlotReading, d == c.lap:
			c.head.CompareAndSwap(h, h+1) // taken: help the hint on
		case d == 0 && (st == layout.SlotFree || st == layout.SlotClaimed), d == -c.lap && st == layout.SlotReading:
			c.blockPos, c.blockW = h, w
			if err := c.ended(h, w); err != errRetry {
				return 0, err
			}
		case d == -c.lap:
			return 0, c.r.corrupt("slot ctrl=%#x at head=%d: state %d a lap behind", w, h, st)
		default:
			if err := c.oddDistance(c.head, h, w); err != nil {
				return 0, err
			}
		}
	}
}

var errRetry = fmt.Errorf("ring: retry")

// ended tells an empty ring at head h (word w) from the end of the stream:
// no producer attached and the stream marked closed (ErrClosed) or its last
// producer reaped dead (ErrPeerDead). Everything published happened before
// the mark, so the slot is looked at again after it.
func (c *mpmcConsumer) ended(h, w uint64) error {
	s, n := c.stream.Load(), c.producers.Load()
	if !layout.ValidStream(s) || n > c.maxP {
		return c.r.corrupt("stream=%d producers=%d (max %d)", s, n, c.maxP)
	}
	if s == 0 || n != 0 {
		return ErrEmpty
	}
	if c.ctrl(h).Load() != w {
		return errRetry
	}
	// Before saying the stream is over, take over what dead consumers
	// still hold: their messages are delivered once more, marked, not
	// lost with the end of the stream. (System calls, once per call at
	// the end of a stream: not the data path.)
	if err := c.reapDead(c.maxP, c.entries()); err != nil {
		return err
	}
	if len(c.adopted) > 0 {
		return errAdopted
	}
	if s == layout.StreamClosed {
		return ErrClosed
	}
	return fmt.Errorf("%w: ring=%s: every producer died", ErrPeerDead, c.r.name)
}

// errAdopted: attempt found messages adopted from a dead consumer, to be
// handed out before the ring's.
var errAdopted = fmt.Errorf("ring: adopted")

// attempt and probe make the consumer an mpmcWaiter.
func (c *mpmcConsumer) attempt() (uint64, error) {
	if len(c.adopted) > 0 {
		return 0, errAdopted
	}
	return c.tryTake()
}

// probe repairs a dead producer's claim at the head, then reaps entries
// whose holders died: producers (their claims are skipped) and consumers
// (their leases are adopted here and redelivered).
func (c *mpmcConsumer) probe() error {
	w := c.ctrl(c.blockPos).Load()
	if w == c.blockW && layout.CtrlState(w) == layout.SlotClaimed && layout.CtrlSeq(w) == uint32(c.blockPos) {
		if _, err := c.repairClaim(c.blockPos, w); err != nil {
			return err
		}
	}
	c.ent.messages.Store(c.stats.Messages)
	return c.reapDead(0, c.entries())
}

// next is the position to lease: a pending or adopted one first, else the
// ring's, waiting as the wait strategy says when block is set.
func (c *mpmcConsumer) next(ctx context.Context, block bool) (uint64, error) {
	if c.hasPending {
		c.hasPending = false
		c.redelivered = c.pendingRedeliv
		return c.pending, nil
	}
	c.redelivered = false
	pos, err := c.attempt()
	if err == ErrEmpty {
		c.stats.Empty++
		if block {
			pos, err = c.await(ctx, c, ErrEmpty, c.dataWake, c.dataSleepers, stepSleepingEmpty)
		} else {
			err = c.tryProbe()
		}
	}
	if err == errAdopted {
		pos = c.adopted[0]
		copy(c.adopted, c.adopted[1:])
		c.adopted = c.adopted[:len(c.adopted)-1]
		c.redelivered = true
		c.stats.Redelivered++
		return pos, nil
	}
	return pos, err
}

// tryProbe: a Try that found the same slot blocking the head many times in
// a row probes its holder's liveness, as a waiting call would once a tick.
func (c *mpmcConsumer) tryProbe() error {
	if c.blockW != c.ctrl(c.blockPos).Load() {
		c.blockTries = 0
		return ErrEmpty
	}
	if c.blockTries++; c.blockTries < 1<<12 {
		return ErrEmpty
	}
	c.blockTries = 0
	if err := c.probe(); err != nil {
		return err
	}
	if len(c.adopted) > 0 {
		return errAdopted
	}
	return ErrEmpty
}

// checkedLen reads the length of the leased position once and checks it.
func (c *mpmcConsumer) checkedLen(pos uint64) (uint32, error) {
	n := c.length(pos).Load()
	if n > c.slotSize {
		return 0, c.badLength(c.r, pos, n)
	}
	return n, nil
}

// lease leases the next position (next says which) and reads its length.
func (c *mpmcConsumer) lease(ctx context.Context, block bool) (uint64, uint32, error) {
	pos, err := c.next(ctx, block)
	if err != nil {
		return 0, 0, err
	}
	n, err := c.checkedLen(pos)
	if err != nil {
		c.free(pos)
		return 0, 0, err
	}
	return pos, n, nil
}

func (c *mpmcConsumer) receive(ctx context.Context, block bool) ([]byte, error) {
	pos, n, err := c.lease(ctx, block)
	if err != nil {
		return nil, err
	}
	if !c.r.intact() {
		return nil, c.r.errTruncated()
	}
	c.start, c.n, c.heldBytes = pos, 1, uint64(n)
	c.lastRedelivered = c.redelivered
	atStep(stepMidRead)
	return c.payload(pos, n), nil
}

func (c *mpmcConsumer) Receive(ctx context.Context) ([]byte, error) { return c.receive(ctx, true) }

func (c *mpmcConsumer) TryReceive() ([]byte, error) { return c.receive(context.Background(), false) }

// free releases position pos, leased by this handle: Free for the next lap.
// A lease a peer repaired away (this handle was presumed dead) is counted
// and dropped: the CAS fails and nothing is written.
func (c *mpmcConsumer) free(pos uint64) bool {
	if c.ctrl(pos).CompareAndSwap(layout.Ctrl(pos, layout.SlotReading, c.owner), layout.Ctrl(pos+c.slots, layout.SlotFree, 0)) {
		return true
	}
	c.revoked++
	return false
}

// Release frees the leased message or batch and wakes as many sleeping
// producers as slots it freed.
func (c *mpmcConsumer) Release() error {
	atStep(stepBeforeRelease)
	freed := 0
	for i := 0; i < c.n; i++ {
		if c.free(c.start + uint64(i)) {
			freed++
		}
	}
	var err error
	if freed < c.n {
		err = fmt.Errorf("%w: ring=%s: %d of %d leased messages were taken back by a peer that presumed this consumer dead",
			ErrRevoked, c.r.name, c.n-freed, c.n)
	}
	c.stats.Messages += uint64(c.n)
	c.stats.Bytes += c.heldBytes
	c.n, c.heldBytes = 0, 0
	c.noteMessages()
	atStep(stepAfterRelease)
	// SYNC POINT: release. The CAS to Free is a full fence before this
	// load; a producer announces itself as a sleeper, then re-checks.
	if freed > 0 {
		c.wakeSpace()
	}
	return err
}

func (c *mpmcConsumer) recv(ctx context.Context, buf []byte, block bool) (int, error) {
	pos, n, err := c.lease(ctx, block)
	if err != nil {
		return 0, err
	}
	if int(n) > len(buf) {
		c.pending, c.hasPending, c.pendingRedeliv = pos, true, c.redelivered
		return 0, shortBuffer(n, buf)
	}
	splitCopy(buf[:n], c.payload(pos, n), stepMidRead)
	if !c.r.intact() { // after the copy: see guard.go
		return 0, c.r.errTruncated()
	}
	c.start, c.n, c.heldBytes = pos, 1, uint64(n)
	c.lastRedelivered = c.redelivered
	if err := c.Release(); err != nil {
		return 0, err
	}
	return int(n), nil
}

func (c *mpmcConsumer) Recv(ctx context.Context, buf []byte) (int, error) {
	return c.recv(ctx, buf, true)
}

func (c *mpmcConsumer) TryRecv(buf []byte) (int, error) {
	return c.recv(context.Background(), buf, false)
}

// ReceiveBatch leases up to max consecutive published messages, one CAS
// each; a pending or redelivered message comes alone. Each length is read
// once, here, for Messages.At.
func (c *mpmcConsumer) ReceiveBatch(ctx context.Context, max int, lens []uint32) (uint64, []uint32, error) {
	fromRing := !c.hasPending && len(c.adopted) == 0
	pos, err := c.next(ctx, true)
	if err != nil {
		return 0, lens, err
	}
	c.start, c.n, c.heldBytes = pos, 0, 0
	for {
		l := c.length(pos + uint64(c.n)).Load()
		lens = append(lens, l)
		c.heldBytes += uint64(min(l, c.slotSize))
		if c.n++; c.n == max || !fromRing || c.redelivered || !c.leaseNext(pos+uint64(c.n)) {
			break
		}
	}
	if !c.r.intact() { // before handing slots out in place: see guard.go
		c.n, c.heldBytes = 0, 0
		return 0, lens, c.r.errTruncated()
	}
	c.lastRedelivered = c.redelivered
	return pos, lens, nil
}

// leaseNext extends a batch's lease to position p if it is published
// already.
func (c *mpmcConsumer) leaseNext(p uint64) bool {
	cw := c.ctrl(p)
	w := cw.Load()
	if w != layout.Ctrl(p, layout.SlotFull, 0) {
		return false
	}
	atStep(stepBeforeReceive)
	if !cw.CompareAndSwap(w, layout.Ctrl(p, layout.SlotReading, c.owner)) {
		return false
	}
	atStep(stepAfterReceive)
	c.head.CompareAndSwap(p, p+1)
	return true
}

// Redelivered reports on the message (or batch: a redelivered message
// comes alone) that the last successful Receive, TryReceive, ReceiveBatch,
// Recv or TryRecv returned, held or already released; a failed call leaves
// the answer as it was.
func (c *mpmcConsumer) Redelivered() bool { return c.lastRedelivered }

func (c *mpmcConsumer) SetWait(w WaitStrategy) { c.wait = w }

func (c *mpmcConsumer) Stats() Stats { return c.stats }

// Close releases a held lease (the message counts as received), then
// leaves the ring. A consumer with adopted or pending messages it never
// handed out leaves its entry attached with the lock dropped, as if it had
// died: another consumer reaps the entry and delivers them. Idempotent;
// the entry's lock is let go of even when Close faults on a shrunk file.
func (c *mpmcConsumer) Close() error {
	defer c.dropRole()
	if c.closed {
		return nil
	}
	if c.n != 0 {
		c.Release()
	}
	if c.hasPending || len(c.adopted) > 0 {
		return c.abandon()
	}
	return c.leave()
}
