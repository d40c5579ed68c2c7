package ring

import (
	"context"
	"errors"
	"fmt"

	"github.com/shmring/shmring/layout"
)

// mpmcConsumer is an MPMC or MPSC ring's consumerEngine.
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

	// The slot an empty call found blocking the head: a probe looks at
	// whether its holder died.
	blockPos, blockW uint64
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

func (c *mpmcConsumer) Receive(ctx context.Context, block bool) ([]byte, error) {
	pos, n, err := c.lease(ctx, block)
	if err != nil {
		return nil, err
	}
	if !c.r.intact() {
		return nil, c.r.errTruncated()
	}
	c.start, c.n, c.heldBytes = pos, 1, uint64(n)
	c.lastRedelivered = c.redelivered
	c.lat.observe(pos)
	atStep(stepMidRead)
	return c.payload(pos, n), nil
}

// free releases position pos, leased by this handle: Free for the next lap.
// A lease a peer repaired away (this handle was presumed dead) is counted
// and dropped: the CAS fails and nothing is written.
//
// SYNC POINT: free. Every read of the leased slot is done before this CAS;
// a producer loads the Free word, then claims the slot and writes it.
func (c *mpmcConsumer) free(pos uint64) bool {
	if c.ctrl(pos).CompareAndSwap(layout.Ctrl(pos, layout.SlotReading, c.owner), layout.Ctrl(pos+c.slots, layout.SlotFree, 0)) {
		return true
	}
	c.revoked++
	return false
}

// Release frees the leased message or batch and wakes as many sleeping
// producers as slots it freed.
func (c *mpmcConsumer) Release() (err error) {
	atStep(stepBeforeRelease)
	n, freed := c.n, 0
	defer c.keepFreed(&err, &freed, n)
	for i := 0; i < n; i++ {
		if i == 1 {
			atStep(stepBetweenFrees)
		}
		// The first slot a peer took back ends the frees: it reaps the
		// lease in order, so the rest are its too (or soon will be), and
		// what this call consumed stays a prefix, as PartialReleaseError
		// says (freeing on could free slot 2 after losing slot 1).
		if !c.free(c.start + uint64(i)) {
			break
		}
		freed++
	}
	return c.released(freed)
}

// keepFreed, deferred around the freeing of a lease of n slots, keeps a
// fault in what follows a free (the Ring's Close unmapped the ring under
// the frees or the bookkeeping) from undoing the call's answer: what was
// freed was consumed, and a bare ErrClosed would tell the caller it was
// not, so it would count on a redelivery that never comes. All freed: nil.
// Some: a *PartialReleaseError, ErrClosed saying how many were consumed
// (the rest come again); a fault of a shrunk file stays ErrTruncated.
// None: ErrClosed, as the guard says. Unguarded rings recover nothing here
// either (guard.go).
func (c *mpmcConsumer) keepFreed(err *error, freed *int, n int) {
	if *freed == 0 || c.r.unguarded {
		return
	}
	if v := recover(); v != nil {
		*err = c.r.faulted(v) // panics again unless a fault of the mapping, or of Close
		if *freed == n {
			*err = nil
		} else {
			*err = partialRelease(*err, *freed, n)
		}
	}
}

// partialRelease is err for a Release that freed the first freed of the n
// messages it held: a *PartialReleaseError where err is the Ring's Close's
// ErrClosed, or a peer's ErrRevoked, and some were freed. A shrunk file
// (ErrTruncated) ends the ring for every process, so no count of what
// comes again applies there.
func partialRelease(err error, freed, n int) error {
	if freed == 0 || !errors.Is(err, ErrClosed) && !errors.Is(err, ErrRevoked) {
		return err
	}
	return &PartialReleaseError{Consumed: freed, Leased: n, err: err}
}

// released ends the lease, of which freed slots were freed here: the
// error for the others, the counts, and the wake-ups.
func (c *mpmcConsumer) released(freed int) error {
	var err error
	switch {
	case freed == c.n:
	case c.r.closing.Load(): // the Ring's Close let the lease go (revokedErr)
		err = partialRelease(c.r.errClosedDuringCall(), freed, c.n)
	case !c.r.intact(): // the control words of a shrunk file read zero (revokedErr)
		err = c.r.errTruncated()
	default:
		err = partialRelease(fmt.Errorf("%w: ring=%s: the lease was taken back by a peer that presumed this consumer dead",
			ErrRevoked, c.r.name), freed, c.n)
	}
	c.stats.Messages += uint64(c.n)
	c.stats.Bytes += c.heldBytes
	c.n, c.heldBytes = 0, 0
	c.noteMessages()
	c.ctr.tick(&c.stats)
	atStep(stepAfterRelease)
	// SYNC POINT: release. The CAS to Free is a full fence before this
	// load; a producer announces itself as a sleeper, then re-checks.
	if freed > 0 {
		c.wakeSpace()
	}
	return err
}

// Recv copies the next message out and frees its slot. Once the slot is
// freed the message is the caller's: a fault after that (Ring.Close
// unmapped the ring under the bookkeeping that follows) still returns it,
// and a Recv that finds Ring.Close begun before it frees the slot leaves
// the message leased, for the reaper of the entry Close leaves, rather
// than take it and be unable to say so.
func (c *mpmcConsumer) Recv(ctx context.Context, buf []byte, block bool) (got int, err error) {
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
	c.lat.observe(pos)
	if c.r.closing.Load() {
		return 0, c.r.errClosedDuringCall()
	}
	atStep(stepBeforeRelease)
	if !c.free(pos) {
		return 0, c.released(0)
	}
	got, freed := int(n), 1
	defer c.keepFreed(&err, &freed, 1)
	return got, c.released(1)
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
	c.lat.observeRange(pos, c.n)
	return pos, lens, nil
}

// Redelivered reports on the message (or batch: a redelivered message
// comes alone) that the last successful Receive, TryReceive, ReceiveBatch,
// Recv or TryRecv returned, held or already released; a failed call leaves
// the answer as it was.
func (c *mpmcConsumer) Redelivered() bool { return c.lastRedelivered }

// consumed: an MPMC call answers for what it freed itself (keepFreed).
func (c *mpmcConsumer) consumed() (int, bool) { return 0, false }

// Close leaves the ring. A consumer holding messages it has not released
// (a lease from Receive or ReceiveBatch, one a Recv left pending for a short
// buffer, ones adopted from a dead consumer) leaves its entry left
// (EntryLeft) with the lock dropped and those slots still in Reading under
// its owner stamp: another consumer reaps the entry and delivers them again,
// marked, and no producer takes it for a death. What was released counts as
// received; what was held does not. Idempotent; the entry's lock is let go of
// even when Close faults on a shrunk file.
func (c *mpmcConsumer) Close() error {
	if !c.closing.begin() {
		return nil
	}
	defer c.closing.end()
	defer c.dropRole()
	if c.closed {
		return nil
	}
	// Ring.Close closes this handle from its own goroutine, maybe while a
	// call on another is inside it and has leased slots (stamped them
	// with this handle's owner) it has not recorded yet. So the entry is
	// left for a reaper whatever it seems to hold, and keeps its lock
	// until the ring is unmapped: the call stamps nothing after that (it
	// faults, and says ErrClosed), so the reaper, which needs the lock,
	// finds every slot the call took and delivers it again. The handle's
	// own fields stay as the racing call reads them.
	if c.r.closing.Load() {
		return c.abandon(true)
	}
	// A dead consumer still attached, with this one gone, would have a
	// producer waiting on a full ring take this clean Close for the death
	// of every consumer (ErrPeerDead). So its entry is reaped first, as a
	// closing producer reaps its side's: what it held becomes this
	// consumer's, and is left below with the rest.
	_, reapErr := c.reapDead(c.maxP, c.entries())
	if c.n != 0 || c.hasPending || len(c.adopted) > 0 {
		c.n, c.heldBytes = 0, 0
		c.hasPending, c.adopted = false, c.adopted[:0] // left for another consumer, which delivers them
		return errors.Join(reapErr, c.abandon(false))
	}
	return errors.Join(reapErr, c.leave())
}
