package ring

// What record rings add to the facades: ClaimN on every ring, and the
// hooks through which a Batch or a Messages view reaches a record engine.

import (
	"context"
	"fmt"
)

// recProducer is what a record ring's producer engine adds to
// producerEngine.
type recProducer interface {
	// ClaimN claims a record of n payload bytes (n <= MaxMessage), as
	// Claim claims a slot.
	ClaimN(ctx context.Context, n uint32, block bool) ([]byte, error)
	// batchSlot is the payload of the one message a ClaimBatch claimed.
	batchSlot() []byte
}

// recConsumer is what a record ring's consumer engine adds to
// consumerEngine: the i-th message of the batch ReceiveBatch leased, from
// the checked header it read then.
type recConsumer interface {
	at(i int) ([]byte, error)
}

// newRecProducer takes the producer role of a record ring.
func newRecProducer(r *Ring) (producerEngine, error) {
	if r.hdr.Kind == Broadcast {
		return newRecBcastProducer(r)
	}
	return newRecSPSCProducer(r)
}

// ClaimN returns exactly n contiguous bytes of the ring to write a message
// into, waiting for room as the wait strategy says: Commit(k), k <= n,
// publishes the first k of them, Abort drops them. On a record ring the
// message takes only what it commits; on a slot ring ClaimN is Claim with
// the slot cut to n bytes. n beyond MaxMessage returns ErrTooLarge. The
// slice is shared memory, valid until Commit or Abort; ClaimN while a
// claim is open panics, as does a negative n.
func (p *Producer) ClaimN(ctx context.Context, n int) (_ []byte, err error) {
	if p.missing() {
		return nil, errNoProducer
	}
	if !p.unguarded {
		defer p.r.endGuard(&err, beginGuard())
	}
	if err := p.noClaimOpen("ClaimN"); err != nil {
		return nil, err
	}
	if err := p.checkClaimN(n); err != nil {
		return nil, err
	}
	return p.claimN(ctx, uint32(n), true)
}

// TryClaimN is ClaimN without waiting: ErrFull when there is no room.
func (p *Producer) TryClaimN(n int) (_ []byte, err error) {
	if p.missing() {
		return nil, errNoProducer
	}
	if !p.unguarded {
		defer p.r.endGuard(&err, beginGuard())
	}
	if err := p.noClaimOpen("TryClaimN"); err != nil {
		return nil, err
	}
	if err := p.checkClaimN(n); err != nil {
		return nil, err
	}
	return p.claimN(context.Background(), uint32(n), false)
}

func (p *Producer) checkClaimN(n int) error {
	if n < 0 {
		panic(fmt.Sprintf("ring: Producer.ClaimN of %d bytes", n))
	}
	if uint(n) > uint(p.g.slotSize) {
		return errTooLargeClaim
	}
	return nil
}

func (p *Producer) claimN(ctx context.Context, n uint32, block bool) ([]byte, error) {
	p.claimCap = n
	if p.rec != nil {
		return p.opened(p.rec.ClaimN(ctx, n, block))
	}
	s, err := p.e.Claim(ctx, block)
	if err != nil {
		return nil, err
	}
	return p.opened(s[:n:n], nil) // exactly n bytes, as on a record ring: no room to reslice into
}

var errTooLargeClaim = fmt.Errorf("%w: claim beyond the ring's MaxMessage", ErrTooLarge)
