package ring

import (
	"context"
	"fmt"
	"time"

	"github.com/shmring/shmring/layout"
)

// mpmcProducer is an MPMC or MPSC ring's producerEngine.
type mpmcProducer struct {
	mpmcHandle
	pos  uint64 // first position of the open claim
	n    int    // positions claimed and neither committed nor aborted
	sent uint64 // messages published, counted right after each one's CAS (Producer.endGuardSent)
}

func (p *mpmcProducer) sentCount() *uint64 { return &p.sent }

func newMPMCProducer(r *Ring) (*mpmcProducer, error) {
	p := &mpmcProducer{}
	if err := p.attach(r, false); err != nil {
		return nil, err
	}
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
		w := cw.Load() // SYNC POINT: free (the producer's half)
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

// claimPos claims one position; when the ring is full it waits for space
// (block) or reports ErrFull.
func (p *mpmcProducer) claimPos(ctx context.Context, block bool) (uint64, error) {
	pos, err := p.tryClaimPos()
	if err != ErrFull {
		return pos, err
	}
	p.stats.Full++
	if block {
		return p.awaitSpace(ctx, pos)
	}
	if p.waiting.foundDead || p.waiting.polls.Due(p.wait.config(), pos) { // wait.go: noteProbe
		p.waiting.try = p
		if err := p.waiting.noteProbe(p.r.tryProbe(mpmcWait{&p.mpmcHandle})); err != nil {
			return 0, err
		}
	}
	return 0, ErrFull
}

func (p *mpmcProducer) awaitSpace(ctx context.Context, stuck uint64) (uint64, error) {
	return p.await(ctx, p, ErrFull, stuck, p.spaceWake, p.spaceSleepers, stepSleepingFull)
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
// up to max in all, without waiting; each one's length starts at 0.
func (p *mpmcProducer) extend(max int) {
	for p.n < max {
		pos := p.pos + uint64(p.n)
		cw := p.ctrl(pos)
		w := cw.Load() // SYNC POINT: free (the producer's half)
		if w != layout.Ctrl(pos, layout.SlotFree, 0) {
			return
		}
		atStep(stepBeforeClaim)
		if !cw.CompareAndSwap(w, layout.Ctrl(pos, layout.SlotClaimed, p.owner)) {
			return
		}
		atStep(stepAfterClaim)
		p.setLen(pos, 0) // committed empty unless SetLen says otherwise
		p.n++
		p.tail.CompareAndSwap(pos, pos+1)
	}
}

func (p *mpmcProducer) Claim(ctx context.Context, block bool) ([]byte, error) {
	pos, err := p.claimPos(ctx, block)
	if err != nil {
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
	p.setLen(pos, n)
	p.lat.stamp(pos)
	atStep(stepBeforePublish)
	if !cw.CompareAndSwap(mine, layout.Ctrl(pos, layout.SlotFull, 0)) {
		return p.revokedErr(pos, cw.Load())
	}
	p.sent++ // first: whatever follows may fault once the Ring's Close has begun (Producer.endGuardSent)
	p.stats.Messages++
	p.stats.Bytes += uint64(n)
	p.noteMessages()
	p.ctr.tick(&p.stats)
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
	p.n = 0
	if err := p.publish(p.pos, uint32(n)); err != nil {
		return err
	}
	p.wakeConsumers()
	return nil
}

// Abort drops the open claim. Its positions were taken from the ring's
// sequence, so they are marked Skipped: consumers pass over them (and count
// them in Stats.Skipped).
func (p *mpmcProducer) Abort() {
	if p.skipRest(0) > 0 {
		p.wakeData()
	}
}

// skipRest turns this handle's claims on the open claim's positions from
// the i-th on into Skipped (they carry no message, and consumers pass over
// them), ends the claim, and says how many it turned.
func (p *mpmcProducer) skipRest(i int) int {
	k := 0
	for ; i < p.n; i++ {
		pos := p.pos + uint64(i)
		if p.ctrl(pos).CompareAndSwap(layout.Ctrl(pos, layout.SlotClaimed, p.owner), layout.Ctrl(pos, layout.SlotSkipped, 0)) {
			k++
		}
	}
	p.n = 0
	return k
}

func (p *mpmcProducer) Send(ctx context.Context, msg []byte, block bool) error {
	pos, err := p.claimPos(ctx, block)
	if err != nil {
		return err
	}
	splitCopy(p.payload(pos, uint32(len(msg))), msg, stepMidPayload)
	if err := p.publish(pos, uint32(len(msg))); err != nil {
		return err
	}
	p.wakeConsumers()
	return nil
}

func (p *mpmcProducer) ClaimBatch(ctx context.Context, max int) (uint64, int, error) {
	pos, err := p.claimPos(ctx, true)
	if err != nil {
		return 0, 0, err
	}
	p.setLen(pos, 0)
	p.pos, p.n = pos, 1
	p.extend(max)
	return pos, p.n, nil
}

// CommitBatch publishes the first k slots of the batch, in order, and marks
// the rest Skipped (they were taken from the ring's sequence). A slot whose
// claim a peer revoked is not published; the ones after it still are.
func (p *mpmcProducer) CommitBatch(k int, lens []uint32) {
	published := 0
	for i, n := range lens[:k] { // publish writes each length only while the claim is its own
		if p.publish(p.pos+uint64(i), n) == nil {
			published++
		} else {
			p.revoked++
		}
	}
	if published+p.skipRest(k) > 0 {
		p.wakeConsumers()
	}
}

// SendBatch claims a position, waiting for it, and those after it that are
// free, then publishes each in order, up to the first whose claim a peer
// revoked: what it sent is msgs[:sent], and the rest of the claim is
// skipped. A message beyond the slot size is never claimed a position for:
// a claimed position could only be skipped.
//
// The claim stays open (p.pos, p.n) while it is published, so a Close on
// another goroutine (the Ring's) skips what is still claimed; a publish it
// beat fails and ends the batch. No claim is left stamped when the ring is
// unmapped under the call: one was, and no consumer passed it until a
// peer's probe, which an ended stream never made.
func (p *mpmcProducer) SendBatch(ctx context.Context, msgs [][]byte, fit int) (int, error) {
	base, err := p.claimPos(ctx, true)
	if err != nil {
		return 0, err
	}
	p.pos, p.n = base, 1
	p.extend(fit)
	n := p.n
	if n == 0 { // the Ring's Close skipped the claim and ended it
		return 0, p.r.errClosedDuringCall()
	}
	sent := 0
	var failed error
	for i, m := range msgs[:n] {
		pos := base + uint64(i)
		splitCopy(p.payload(pos, uint32(len(m))), m, stepMidPayload)
		if failed = p.publish(pos, uint32(len(m))); failed != nil {
			break
		}
		sent++
	}
	if skipped := p.skipRest(sent); sent > 0 || skipped > 0 {
		p.wakeConsumers()
	}
	switch {
	case failed != nil && p.r.closing.Load():
		return sent, p.r.errClosedDuringCall()
	case failed != nil:
		return sent, failed
	case n == fit && fit < len(msgs):
		return sent, errTooLargeSend
	}
	return sent, nil
}

// Close aborts an open claim (Skipped), reaps producers that died without
// closing, marks the entry free; the last producer closes the stream and
// wakes every sleeping consumer. Idempotent; the entry's lock is let go of
// even when Close faults on a shrunk file.
func (p *mpmcProducer) Close() error {
	if !p.closing.begin() {
		return nil
	}
	defer p.closing.end()
	defer p.dropRole()
	if p.closed {
		return nil
	}
	p.Abort()
	atStep(stepLeaving)
	// A dead producer still counted would keep the stream open forever,
	// and one killed half-way through joining or leaving leaves a count
	// above its entries: this close is the last one only once both are
	// settled, and then ends the stream as closed, not peer dead.
	_, err := p.reapDead(0, p.maxP)
	// A busy lock is a live producer (then this is not the last close),
	// or a waiting consumer's own sweep, over in microseconds: look again
	// a few times, or a count a killed producer left too high would make
	// this clean close read as a death.
	for try := 0; err == nil; try++ {
		var busy bool
		if busy, err = p.tryReconcile(false); !busy || try == closeReconcileTries {
			break
		}
		time.Sleep(attachPause)
	}
	if err != nil {
		p.leave()
		return err
	}
	return p.leave()
}
