package ring

import (
	"context"
	"sync/atomic"
)

// Producer is the write side of a ring. One live Producer exists per SPSC
// ring at a time, across all processes. Its methods must be called from
// one goroutine at a time.
//
// A Producer is the ring kind's engine (spsc_producer.go, mpmc_producer.go,
// bcast_producer.go) behind the calls' contract: the fault guard, the
// misuse panics and the length checks live here, once, and the engine
// trusts them.
type Producer struct {
	_         noCopy
	r         *Ring
	e         producerEngine
	g         slotArea    // the engine's slots, for Batch
	unguarded bool        // Options.Unguarded: no fault guard (guard.go)
	claimed   uint64      // slots claimed and not yet committed or aborted
	batch     bool        // the open claim is ClaimBatch's: CommitBatch ends it, Commit does not
	claimCap  uint32      // the bytes the open claim of one slot or record may commit
	rec       recProducer // a record ring's engine (rec_facade.go); nil on slot rings
	// claims counts the ends of claims (CommitBatch, Abort, Close): a
	// Batch remembers the count it was made at, and is stale once the
	// count moved on.
	claims uint64
	// batchLens are the open batch's message lengths as Batch.SetLen
	// gives them, kept here and handed to the engine's CommitBatch, so
	// that SetLen touches no shared memory and needs no fault guard.
	batchLens []uint32
	closed    bool    // Close ran (this handle's, or the ring's)
	sent      *uint64 // the engine's count of messages published (endGuardSent)
	// inCall is 1 while a publishing call runs (incall.go), stored plainly
	// where plainMarks (the process publishes with release stores).
	inCall     atomic.Uint32
	plainMarks bool
}

// producerEngine is one kind's write side. Its calls come from the
// Producer, under the fault guard, with the contract checked: a claim call
// only with no claim open, Commit only on a claim of one slot, CommitBatch
// of at most the slots claimed, and lengths within the slot.
type producerEngine interface {
	// Claim and Send wait for a slot as the wait strategy says if block
	// is set; else they report ErrFull (the Try calls).
	Claim(ctx context.Context, block bool) ([]byte, error)
	Commit(n int) error
	Abort()
	Send(ctx context.Context, msg []byte, block bool) error
	// ClaimBatch claims up to max slots (at least one) from start.
	ClaimBatch(ctx context.Context, max int) (start uint64, n int, err error)
	// CommitBatch publishes the first k, with the lengths Batch.SetLen
	// gave (lens[i], zero where unset), each written by the engine where
	// its rules allow (MPMC: only while the claim is still its own).
	CommitBatch(k int, lens []uint32)
	// SendBatch sends msgs (at least one) up to msgs[fit], the first
	// message beyond the slot size if fit < len(msgs), which it reports
	// as ErrTooLarge once it reaches it. fit is at least one: the facade
	// answers a batch whose first message is too large.
	SendBatch(ctx context.Context, msgs [][]byte, fit int) (int, error)
	SetWait(w WaitStrategy)
	Stats() Stats
	// Close lets go of the role even when it faults on a shrunk file.
	Close() error
	interrupt()
	// sentCount is the engine's count of the messages it published,
	// moved right after each publishing store (Producer.endGuardSent).
	sentCount() *uint64
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
	var e producerEngine
	switch kind := r.hdr.Kind; {
	case r.hdr.Records:
		e, err = newRecProducer(r)
	case kind == MPMC || kind == MPSC:
		e, err = newMPMCProducer(r)
	case kind == Broadcast:
		e, err = newBcastProducer(r)
	default:
		e, err = newSPSCProducer(r)
	}
	if err != nil {
		return nil, err
	}
	p := &Producer{r: r, e: e, g: r.slotArea(), unguarded: r.unguarded, sent: e.sentCount(), plainMarks: r.releaseStores()}
	p.rec, _ = e.(recProducer)
	r.track(p)
	return p, nil
}

// TryClaim is Claim without waiting: ErrFull when no slot is free.
func (p *Producer) TryClaim() (_ []byte, err error) {
	if p.missing() {
		return nil, errNoProducer
	}
	if !p.unguarded {
		defer p.r.endGuard(&err, beginGuard())
	}
	if err := p.noClaimOpen("TryClaim"); err != nil {
		return nil, err
	}
	p.claimCap = p.g.slotSize
	return p.opened(p.e.Claim(context.Background(), false))
}

// Claim returns the next free slot, waiting for one as the wait strategy
// says. The slice is the slot itself, in shared memory, SlotSize bytes
// long: write the message into it and Commit, or Abort. It stays valid
// until then (or the Ring's Close: see Ring.Close). Claim while a claim is
// open panics. On a record ring Claim is ClaimN(ctx, MaxMessage): it waits
// for room for the longest message, and the record takes only what Commit
// publishes.
func (p *Producer) Claim(ctx context.Context) (_ []byte, err error) {
	if p.missing() {
		return nil, errNoProducer
	}
	if !p.unguarded {
		defer p.r.endGuard(&err, beginGuard())
	}
	if err := p.noClaimOpen("Claim"); err != nil {
		return nil, err
	}
	p.claimCap = p.g.slotSize
	return p.opened(p.e.Claim(ctx, true))
}

// opened records a claim of one slot or record (of up to claimCap bytes),
// if the engine made one and the slot is still there to write (claimable):
// an engine's fast path touches no memory that would fault, so a claim
// made in a mapping Close retired, or a file shrunk, is an error here, not
// a slice whose first write would end the process.
func (p *Producer) opened(s []byte, err error) ([]byte, error) {
	if err != nil {
		return s, err
	}
	if err := p.claimable(); err != nil {
		p.e.Abort() // an MPMC claim would otherwise stay Claimed: a later claim overwrites the engine's record of it
		return nil, err
	}
	p.claimed, p.batch = 1, false
	return s, nil
}

// Commit publishes the first n bytes of the claimed slot (or record) as a
// message. n beyond what was claimed (the slot size, ClaimN's n) returns
// ErrTooLarge and leaves the claim open, as does a negative n (which is
// ErrInvalid too); ErrTruncated (a peer shrank the
// file) ends it unpublished. Close (the producer's, or the ring's from
// another goroutine) ends an open claim: Commit then returns ErrClosed.
// Commit with no claim open panics, as does Commit of a ClaimBatch (which
// CommitBatch or Abort ends).
func (p *Producer) Commit(n int) (err error) {
	if p.missing() {
		return errNoProducer
	}
	if !p.unguarded {
		defer p.endGuardSent(nil, &err, *p.sent, beginGuard()) // leaves too
	} else {
		defer p.leave()
	}
	if p.claimed != 1 || p.batch {
		if p.closed || p.r.closing.Load() { // Close ended the claim, perhaps while this call ran
			return ErrClosed
		}
		panic("ring: Producer.Commit without a Claim (a ClaimBatch ends with CommitBatch or Abort)")
	}
	if uint(n) > uint(p.claimCap) {
		return commitLenErr(n)
	}
	if !p.entered() { // Close ends the claim
		return p.closedAtEntry()
	}
	p.claimed = 0
	if err := p.r.shrunk(); err != nil {
		p.e.Abort() // the ring is dead: the claim ends unpublished
		return err
	}
	return p.e.Commit(n)
}

// Abort drops the open claim (single or batch); nothing is published.
// With no claim open (none taken, or already committed or aborted) it does
// nothing.
//
// On an MPMC or MPSC ring the claimed positions were taken from the ring's
// one sequence, which producers share, so they cannot be handed back: they
// are marked skipped, and each keeps its slot until a consumer passes over
// it (Stats.Skipped). Until then they count against the ring's capacity: a
// producer that aborts a claim of the whole free ring finds it full (ErrFull,
// or a wait) until a consumer has moved past them. The uncommitted rest of
// a batch (CommitBatch) and claims dropped by Close are the same. SPSC and
// Broadcast rings take an aborted slot back at once. On a broadcast ring the
// claim already overwrote the oldest message the ring held (its slot was
// marked being written): Abort does not bring it back, and a reader that
// joins at Oldest before the next message is published there finds it
// overwritten, a lap (Reader.Recv's *LapError; a lossless reader moves its
// start on silently), and resumes a quarter of a ring after it, as after any
// lap.
func (p *Producer) Abort() {
	if p.missing() {
		return
	}
	defer p.r.endGuardQuiet(beginGuard())
	p.claims++
	if p.claimed != 0 {
		p.claimed = 0
		p.e.Abort()
	}
}

// Send copies msg into the next free slot and publishes it, waiting for a
// slot as the wait strategy says.
func (p *Producer) Send(ctx context.Context, msg []byte) (err error) {
	if p.missing() {
		return errNoProducer
	}
	if !p.unguarded {
		defer p.endGuardSent(nil, &err, *p.sent, beginGuard()) // leaves too
	} else {
		defer p.leave()
	}
	if uint(len(msg)) > uint(p.g.slotSize) {
		return errTooLargeSend
	}
	if err := p.noClaimOpen("Send"); err != nil {
		return err
	}
	if err := p.r.shrunk(); err != nil {
		return err
	}
	if !p.entered() {
		return p.closedAtEntry()
	}
	return p.e.Send(ctx, msg, true)
}

// TrySend is Send without waiting: ErrFull when no slot is free.
func (p *Producer) TrySend(msg []byte) (err error) {
	if p.missing() {
		return errNoProducer
	}
	if !p.unguarded {
		defer p.endGuardSent(nil, &err, *p.sent, beginGuard()) // leaves too
	} else {
		defer p.leave()
	}
	if uint(len(msg)) > uint(p.g.slotSize) {
		return errTooLargeSend
	}
	if err := p.noClaimOpen("TrySend"); err != nil {
		return err
	}
	if err := p.r.shrunk(); err != nil {
		return err
	}
	if !p.entered() {
		return p.closedAtEntry()
	}
	return p.e.Send(context.Background(), msg, false)
}

// noClaimOpen panics when a claim is open: a claim or send before its
// Commit or Abort is a misuse. Once the Ring's Close has begun it says
// ErrClosed instead, as Consumer.notHolding does: Close ends the claim
// from its own goroutine.
func (p *Producer) noClaimOpen(op string) error {
	if p.claimed == 0 {
		return nil
	}
	if p.closed || p.r.closing.Load() {
		return ErrClosed
	}
	panic("ring: Producer." + op + " while a claim is open; Commit or Abort it first")
}

// Close ends the stream: the consumer receives what was published, then
// ErrClosed. The role is free again afterwards; a new Producer reopens the
// stream. On an MPMC or MPSC ring the stream ends when the last live
// producer handle closes, whichever process held it: a service that takes
// a producer per request and closes it after leaves its consumers
// ErrClosed whenever none is open (until the next one reopens the stream);
// keep one open for as long as the stream should last. Close is
// idempotent. It is one of the producer's calls: it must not run while
// another goroutine is inside one (a Send blocked on a full ring
// included, which would stay blocked and might publish after the role
// went to a new producer); end such a call with its context, or with the
// Ring's Close, which may run meanwhile.
func (p *Producer) Close() (err error) {
	if p.missing() {
		return errNoProducer
	}
	defer p.r.endGuard(&err, beginGuard())
	defer p.r.untrack(p)
	p.claims++
	p.claimed = 0
	p.closed = true
	return p.e.Close()
}

// SetWait sets how this producer's blocking calls wait. It also forgets
// when the Try calls' next probe of the peers is due: that was reckoned
// with the old Tick.
func (p *Producer) SetWait(w WaitStrategy) {
	if p.missing() {
		return
	}
	p.e.SetWait(w)
}

// Stats returns this producer's counters.
// They are stored in the ring file as well (every 64 messages or MiB, and when
// the producer waits, wakes a peer, returns Stats or closes), where any
// process reads them without taking a role: ringctl stat, package
// ringprom. A new holder of the role starts them at zero. Stats is one of
// the producer's calls, so it must not run while another goroutine is
// inside one; to watch the counters from elsewhere while the producer
// works, read them from the file (ringctl stat, or a ringprom
// Collector).
func (p *Producer) Stats() Stats {
	if p.missing() {
		return Stats{}
	}
	p.r.flushStats(p.e)
	return p.e.Stats()
}
