package ring

import (
	"context"
	"fmt"

	"github.com/shmring/shmring/layout"
)

// mpmcProducer is the write side of an MPMC or MPSC ring.
type mpmcProducer struct {
	mpmcHandle
	outer *Producer
	pos   uint64 // first position of the open claim
	n     int    // positions claimed and neither committed nor aborted
}

func newMPMCProducer(r *Ring, outer *Producer) (producerImpl, error) {
	p := &mpmcProducer{outer: outer}
	if err := p.attach(r, false); err != nil {
		return nil, err
	}
	outer.r = r // Producer.Close untracks through it
	return p, nil
}

// tryClaimPos claims the position at the tail: ErrFull when the slot there
// still holds the previous lap.
func (p *mpmcProducer) tryClaimPos() (uint64, error) {
	if p.closed {
		return 0, ErrClosed
	}
	for {
		t := p.tail.Load()
		if err := p.hint(t, &p.seenTail, "tail"); err != nil {
			return 0, err
		}
		cw := p.ctrl(t)
		w := cw.Load()
		d, st, err := p.check(w, t)
		if err != nil {
			return 0, err
		}
		switch {
		case d == 0 && st == layout.SlotFree:
			atStep(stepBeforeClaim)
			// SYNC POINT: claim. The CAS stamps the owner; from here a
			// peer that finds this handle's lock gone may skip the slot.
			if cw.CompareAndSwap(w, layout.Ctrl(t, layout.SlotClaimed, p.owner)) {
				atStep(stepAfterClaim)
				p.tail.CompareAndSwap(t, t+1)
				return t, nil
			}
		case d == 0 || d == p.lap:
			p.tail.CompareAndSwap(t, t+1) // taken: help the hint on
		case d == -p.lap:
			if st == layout.SlotFree {
				return 0, p.r.corrupt("slot ctrl=%#x at tail=%d: free for a lap the tail passed", w, t)
			}
			return t, ErrFull
		default:
			if err := p.oddDistance(p.tail, t, w); err != nil {
				return 0, err
			}
		}
	}
}

// claimPos claims one position, waiting for space as the wait strategy says.
func (p *mpmcProducer) claimPos(ctx context.Context) (uint64, error) {
	pos, err := p.tryClaimPos()
	if err != ErrFull {
		return pos, err
	}
	p.stats.Full++
	return p.awaitSpace(ctx)
}

func (p *mpmcProducer) awaitSpace(ctx context.Context) (uint64, error) {
	return p.await(ctx, p, ErrFull, p.spaceWake, p.spaceSleepers, stepSleepingFull)
}

// attempt and probe make the producer an mpmcWaiter.
func (p *mpmcProducer) attempt() (uint64, error) { return p.tryClaimPos() }

// probe skips a dead producer's claim a lap behind the tail, and reports
// ErrPeerDead when consumers are attached but none is alive. A dead
// consumer's lease cannot be redelivered by a producer: consumers reap it.
func (p *mpmcProducer) probe() error {
	t := p.tail.Load()
	w := p.ctrl(t).Load()
	d, st, err := p.check(w, t)
	if err != nil {
		return err
	}
	if d == -p.lap && st == layout.SlotClaimed {
		if _, err := p.repairClaim(t-p.slots, w); err != nil {
			return err
		}
	}
	p.ent.messages.Store(p.stats.Messages)
	attached, live, err := p.liveCount(p.maxP, p.entries())
	if err != nil {
		return err
	}
	if attached > 0 && live == 0 {
		return fmt.Errorf("%w: ring=%s: every consumer died", ErrPeerDead, p.r.name)
	}
	return nil
}

// extend claims positions after the open claim while their slots are free,
// up to max in all, without waiting.
func (p *mpmcProducer) extend(max int) {
	for p.n < max {
		pos := p.pos + uint64(p.n)
		cw := p.ctrl(pos)
		w := cw.Load()
		if w != layout.Ctrl(pos, layout.SlotFree, 0) {
			return
		}
		atStep(stepBeforeClaim)
		if !cw.CompareAndSwap(w, layout.Ctrl(pos, layout.SlotClaimed, p.owner)) {
			return
		}
		atStep(stepAfterClaim)
		*p.lengthWord(pos) = 0 // committed empty unless SetLen says otherwise
		p.n++
		p.tail.CompareAndSwap(pos, pos+1)
	}
}

func (p *mpmcProducer) mustNotHoldClaim(op string) {
	if p.n != 0 {
		panic("ring: Producer." + op + " while a claim is open; Commit or Abort it first")
	}
}

func (p *mpmcProducer) Claim(ctx context.Context) ([]byte, error) {
	p.mustNotHoldClaim("Claim")
	pos, err := p.claimPos(ctx)
	if err != nil {
		return nil, err
	}
	p.pos, p.n = pos, 1
	return p.payload(pos, p.slotSize), nil
}

func (p *mpmcProducer) TryClaim() ([]byte, error) {
	p.mustNotHoldClaim("TryClaim")
	pos, err := p.tryClaimPos()
	if err != nil {
		if err == ErrFull {
			p.stats.Full++
		}
		return nil, err
	}
	p.pos, p.n = pos, 1
	return p.payload(pos, p.slotSize), nil
}

// publish makes position pos, claimed by this handle, a message of n bytes.
//
// SYNC POINT: publish. The payload and the length are written before the
// CAS to Full; a consumer CASes Full to Reading, then reads them. The CAS
// also fails, and nothing is written, when a peer revoked the claim: the
// length store is preceded by a check that the claim is still this
// handle's, so a late commit never writes a length into a later lap.
func (p *mpmcProducer) publish(pos uint64, n uint32) error {
	cw := p.ctrl(pos)
	mine := layout.Ctrl(pos, layout.SlotClaimed, p.owner)
	if w := cw.Load(); w != mine {
		return p.revokedErr(pos, w)
	}
	*p.lengthWord(pos) = n
	atStep(stepBeforePublish)
	if !cw.CompareAndSwap(mine, layout.Ctrl(pos, layout.SlotFull, 0)) {
		return p.revokedErr(pos, cw.Load())
	}
	p.stats.Messages++
	p.stats.Bytes += uint64(n)
	p.noteMessages()
	return nil
}

// wakeConsumers wakes the sleeping consumers, if any, after a publish.
// The CAS that published is a full fence, so the sleepers load is ordered
// after it (the Dekker pair with a sleeper's announce-then-recheck).
func (p *mpmcProducer) wakeConsumers() {
	atStep(stepAfterPublish)
	p.wakeData()
}

func (p *mpmcProducer) Commit(n int) error {
	if p.n != 1 {
		panic("ring: Producer.Commit without a Claim")
	}
	if uint(n) > uint(p.slotSize) {
		return errTooLargeCommit
	}
	p.n = 0
	if err := p.publish(p.pos, uint32(n)); err != nil {
		return err
	}
	p.wakeConsumers()
	return nil
}

// skip turns this handle's claim on pos into Skipped: it carries no message
// and consumers pass over it.
func (p *mpmcProducer) skip(pos uint64) bool {
	return p.ctrl(pos).CompareAndSwap(layout.Ctrl(pos, layout.SlotClaimed, p.owner), layout.Ctrl(pos, layout.SlotSkipped, 0))
}

// Abort drops the open claim. The position was taken from the ring's
// sequence, so it is marked Skipped: consumers pass over it (and count it
// in Stats.Skipped).
func (p *mpmcProducer) Abort() {
	if p.n == 0 {
		return
	}
	k := 0
	for i := 0; i < p.n; i++ {
		if p.skip(p.pos + uint64(i)) {
			k++
		}
	}
	p.n = 0
	if k > 0 {
		p.wakeData()
	}
}

func (p *mpmcProducer) put(pos uint64, msg []byte) {
	dst := p.payload(pos, uint32(len(msg)))
	half := len(msg) / 2
	copy(dst[:half], msg[:half])
	atStep(stepMidPayload)
	copy(dst[half:], msg[half:])
}

func (p *mpmcProducer) Send(ctx context.Context, msg []byte) error {
	if uint(len(msg)) > uint(p.slotSize) {
		return errTooLargeSend
	}
	p.mustNotHoldClaim("Send")
	pos, err := p.claimPos(ctx)
	if err != nil {
		return err
	}
	p.put(pos, msg)
	if err := p.publish(pos, uint32(len(msg))); err != nil {
		return err
	}
	p.wakeConsumers()
	return nil
}

func (p *mpmcProducer) TrySend(msg []byte) error {
	if uint(len(msg)) > uint(p.slotSize) {
		return errTooLargeSend
	}
	p.mustNotHoldClaim("TrySend")
	pos, err := p.tryClaimPos()
	if err != nil {
		if err == ErrFull {
			p.stats.Full++
		}
		return err
	}
	p.put(pos, msg)
	if err := p.publish(pos, uint32(len(msg))); err != nil {
		return err
	}
	p.wakeConsumers()
	return nil
}

func (p *mpmcProducer) ClaimBatch(ctx context.Context, max int) (Batch, error) {
	p.mustNotHoldClaim("ClaimBatch")
	if max <= 0 {
		panic("ring: Producer.ClaimBatch with max <= 0")
	}
	pos, err := p.claimPos(ctx)
	if err != nil {
		return Batch{}, err
	}
	*p.lengthWord(pos) = 0
	p.pos, p.n = pos, 1
	p.extend(max)
	return Batch{p: p.outer, start: pos, n: p.n}, nil
}

// CommitBatch publishes the first k slots of the batch, in order, and marks
// the rest Skipped (they were taken from the ring's sequence). A slot whose
// claim a peer revoked is not published; the ones after it still are.
func (p *mpmcProducer) CommitBatch(k int) {
	if p.n == 0 || k < 0 || k > p.n {
		panic("ring: Producer.CommitBatch without a batch of that many slots")
	}
	published := 0
	for i := 0; i < k; i++ {
		pos := p.pos + uint64(i)
		n := *p.lengthWord(pos)
		if n > p.slotSize { // SetLen checks; this is the claimant's own word
			n = 0
		}
		if p.publish(pos, n) == nil {
			published++
		} else {
			p.revoked++
		}
	}
	skipped := 0
	for i := k; i < p.n; i++ {
		if p.skip(p.pos + uint64(i)) {
			skipped++
		}
	}
	p.n = 0
	if published+skipped > 0 {
		p.wakeConsumers()
	}
}

func (p *mpmcProducer) SendBatch(ctx context.Context, msgs [][]byte) (int, error) {
	p.mustNotHoldClaim("SendBatch")
	if len(msgs) == 0 {
		return 0, nil
	}
	if uint(len(msgs[0])) > uint(p.slotSize) {
		return 0, errTooLargeSend
	}
	pos, err := p.claimPos(ctx)
	if err != nil {
		return 0, err
	}
	p.pos, p.n = pos, 1
	limit := len(msgs)
	for i, m := range msgs {
		if uint(len(m)) > uint(p.slotSize) {
			limit = i
			break
		}
	}
	p.extend(limit)
	n := p.n
	p.n = 0
	sent := 0
	var first error
	for i := 0; i < n; i++ {
		pos := p.pos + uint64(i)
		p.put(pos, msgs[i])
		if err := p.publish(pos, uint32(len(msgs[i]))); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		sent++
	}
	if sent > 0 {
		p.wakeConsumers()
	}
	if first == nil && n < len(msgs) && n == limit {
		first = errTooLargeSend
	}
	return sent, first
}

func (p *mpmcProducer) batchSlot(start uint64, i int) []byte {
	return p.payload(start+uint64(i), p.slotSize)
}

func (p *mpmcProducer) batchSetLen(start uint64, i, n int) error {
	if uint(n) > uint(p.slotSize) {
		return errTooLargeCommit
	}
	*p.lengthWord(start + uint64(i)) = uint32(n)
	return nil
}

func (p *mpmcProducer) SetWait(w WaitStrategy) { p.wait = w }

func (p *mpmcProducer) Stats() Stats { return p.stats }

// Close aborts an open claim (Skipped), reaps producers that died without
// closing, marks the entry free; the last producer closes the stream and
// wakes every sleeping consumer. Idempotent.
func (p *mpmcProducer) Close() error {
	if p.closed {
		return nil
	}
	p.Abort()
	// A dead producer still counted would keep the stream open forever.
	if err := p.reapDead(0, p.maxP); err != nil {
		p.leave()
		return err
	}
	return p.leave()
}
