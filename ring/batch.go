package ring

import (
	"context"
	"sync/atomic"
)

// Batch is a run of consecutive slots claimed by ClaimBatch, valid until
// CommitBatch or Abort. It is a small value; copying it is free.
type Batch struct {
	p     *Producer
	start uint64
	n     int
	gen   uint64 // p.claims when the batch was claimed
}

// stale: the claim this batch was made for has ended.
func (b Batch) stale() bool { return b.p == nil || b.gen != b.p.claims }

// Len is the number of slots claimed.
func (b Batch) Len() int { return b.n }

// Slot is the i-th claimed slot, SlotSize bytes of shared memory. Once the
// batch was committed or aborted, or the producer closed, Slot returns nil:
// a stale batch can never reach a live slot.
func (b Batch) Slot(i int) []byte {
	if uint(i) >= uint(b.n) {
		panic("ring: Batch.Slot index out of range")
	}
	if b.stale() {
		return nil
	}
	if b.p.impl != nil {
		return b.p.impl.batchSlot(b.start, i)
	}
	return b.p.payload(b.start+uint64(i), b.p.slotSize)
}

// SetLen sets the length of the i-th message; a slot whose length is not
// set is committed empty. A length beyond the slot size returns ErrTooLarge.
func (b Batch) SetLen(i, n int) (err error) {
	defer b.p.r.endGuard(&err, beginGuard())
	if uint(i) >= uint(b.n) {
		panic("ring: Batch.SetLen index out of range")
	}
	if b.stale() {
		return ErrStale
	}
	if b.p.impl != nil {
		return b.p.impl.batchSetLen(b.start, i, n)
	}
	if uint(n) > uint(b.p.slotSize) {
		return errTooLargeCommit
	}
	b.p.setLen(b.start+uint64(i), uint32(n))
	return nil
}

// ClaimBatch claims up to max consecutive free slots — at least one,
// waiting for it as the wait strategy says. Fill them through the Batch and
// publish them all with one store by CommitBatch.
func (p *Producer) ClaimBatch(ctx context.Context, max int) (_ Batch, err error) {
	defer p.r.endGuard(&err, beginGuard())
	if p.impl != nil {
		b, err := p.impl.ClaimBatch(ctx, max)
		b.gen = p.claims
		return b, err
	}
	p.mustNotHoldClaim("ClaimBatch")
	if max <= 0 {
		panic("ring: Producer.ClaimBatch with max <= 0")
	}
	if p.head+uint64(max) > p.limit {
		if err := p.refresh(); err != nil {
			return Batch{}, err
		}
		if p.head >= p.limit {
			if err := p.reserve(ctx); err != nil {
				return Batch{}, err
			}
		}
	}
	n := int(min(uint64(max), p.limit-p.head))
	for i := range n {
		p.setLen(p.head+uint64(i), 0)
	}
	p.claimed = uint64(n)
	return Batch{p: p, start: p.head, n: n, gen: p.claims}, nil
}

// CommitBatch publishes the first k slots of the open batch with one cursor
// store and drops the rest.
func (p *Producer) CommitBatch(k int) {
	defer p.r.endGuardQuiet(beginGuard())
	p.claims++
	if p.impl != nil {
		p.impl.CommitBatch(k)
		return
	}
	if p.claimed == 0 || uint64(k) > p.claimed || k < 0 {
		panic("ring: Producer.CommitBatch without a batch of that many slots")
	}
	for i := range k {
		p.stats.Bytes += uint64(*(*uint32)(p.slot(p.head + uint64(i))))
	}
	first := p.head
	p.head += uint64(k)
	p.claimed = 0
	p.stats.Messages += uint64(k)
	if k > 0 {
		p.publishFrom(first)
	}
}

// SendBatch copies as many of msgs as there are free slots — at least one,
// waiting for it as the wait strategy says — and publishes them with one
// store. It returns how many it sent. A message beyond the slot size stops
// the batch before it with ErrTooLarge; those before it are sent.
func (p *Producer) SendBatch(ctx context.Context, msgs [][]byte) (_ int, err error) {
	defer p.r.endGuard(&err, beginGuard())
	if p.impl != nil {
		return p.impl.SendBatch(ctx, msgs)
	}
	p.mustNotHoldClaim("SendBatch")
	if len(msgs) == 0 {
		return 0, nil
	}
	if p.head+uint64(len(msgs)) > p.limit {
		if err := p.refresh(); err != nil {
			return 0, err
		}
		if p.head >= p.limit {
			if err := p.reserve(ctx); err != nil {
				return 0, err
			}
		}
	}
	n := int(min(uint64(len(msgs)), p.limit-p.head))
	first := p.head
	sent := 0
	for ; sent < n; sent++ {
		if uint(len(msgs[sent])) > uint(p.slotSize) {
			err = errTooLargeSend
			break
		}
		p.put(msgs[sent])
	}
	if sent > 0 {
		p.publishFrom(first)
	}
	return sent, err
}

// Messages is a run of consecutive messages leased by ReceiveBatch, valid
// until Release.
type Messages struct {
	c     *Consumer
	start uint64
	n     int
	gen   uint64 // c.leases when the run was leased
}

// Len is the number of messages.
func (m Messages) Len() int { return m.n }

// At is the i-th message, in place. Its length, read from shared memory
// once (on an SPSC ring by ReceiveBatch, which At then needs no fault
// guard after), is checked: a bad one is ErrCorrupt. After the batch's
// Release it returns ErrStale.
func (m Messages) At(i int) (_ []byte, err error) {
	if uint(i) >= uint(m.n) {
		panic("ring: Messages.At index out of range")
	}
	if m.c == nil || m.gen != m.c.leases {
		return nil, ErrStale
	}
	if m.c.impl == nil {
		return m.c.leased(m.start+uint64(i), m.c.lens[i])
	}
	if m.c.unguarded {
		return m.at(i)
	}
	defer m.c.r.endGuard(&err, beginGuard())
	return m.at(i)
}

func (m Messages) at(i int) ([]byte, error) { return m.c.impl.messageAt(m.start, i) }

// ReceiveBatch leases up to max published messages — at least one, waiting
// for it as the wait strategy says. Release frees them all with one store.
func (c *Consumer) ReceiveBatch(ctx context.Context, max int) (_ Messages, err error) {
	defer c.r.endGuard(&err, beginGuard())
	if c.impl != nil {
		m, err := c.impl.ReceiveBatch(ctx, max)
		m.gen = c.leases
		return m, err
	}
	c.mustNotHold("ReceiveBatch")
	if max <= 0 {
		panic("ring: Consumer.ReceiveBatch with max <= 0")
	}
	if c.tail+uint64(max) > c.avail {
		if err := c.tryFill(); err == ErrEmpty {
			if err := c.fill(ctx); err != nil {
				return Messages{}, err
			}
		} else if err != nil {
			return Messages{}, err
		}
	}
	n := int(min(uint64(max), c.avail-c.tail))
	// Each length is read once, here, under the guard: At then hands out
	// the checked copy and touches no shared memory (an out-of-range one
	// stays out of range, for At to report).
	if cap(c.lens) < n {
		c.lens = make([]uint32, n) // once per larger batch than any before
	}
	c.lens = c.lens[:n]
	c.held, c.heldBytes = uint64(n), 0
	for i := range n {
		l := (*atomic.Uint32)(c.slot(c.tail + uint64(i))).Load()
		c.lens[i] = l
		c.heldBytes += uint64(min(l, c.slotSize))
	}
	if !c.r.intact() { // before handing slots out in place: see guard.go
		c.held, c.heldBytes = 0, 0
		return Messages{}, c.r.errTruncated()
	}
	return Messages{c: c, start: c.tail, n: n, gen: c.leases}, nil
}
