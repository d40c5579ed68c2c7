package ring

import "context"

// Batch is a run of consecutive slots claimed by ClaimBatch, valid until
// CommitBatch or Abort. It is a small value; copying it is free.
type Batch struct {
	p     *Producer
	start uint64
	n     int
	gen   uint64 // p.claims when the batch was claimed
}

// stale: the claim this batch was made for has ended, or the Ring's Close
// has begun (it ends the claim from its own goroutine, then unmaps).
func (b Batch) stale() bool { return b.p == nil || b.gen != b.p.claims || b.p.r.closing.Load() }

// Len is the number of slots claimed.
func (b Batch) Len() int { return b.n }

// Slot is the i-th claimed slot, SlotSize bytes of shared memory. Once the
// batch was committed or aborted, or the producer closed, or the Ring's
// Close has begun, Slot returns nil:
// a stale batch can never reach a live slot.
func (b Batch) Slot(i int) []byte {
	if uint(i) >= uint(b.n) {
		panic("ring: Batch.Slot index out of range")
	}
	if b.stale() {
		return nil
	}
	if b.p.rec != nil {
		return b.p.rec.batchSlot()
	}
	return b.p.g.payload(b.start+uint64(i), b.p.g.slotSize)
}

// SetLen sets the length of the i-th message; a slot whose length is not
// set is committed empty. A length beyond the slot size returns
// ErrTooLarge, a negative one an error that is ErrInvalid and ErrTooLarge
// (as Commit's), the length left as it was.
// The engine writes the lengths at CommitBatch: SetLen touches no shared
// memory.
func (b Batch) SetLen(i, n int) error {
	if uint(i) >= uint(b.n) {
		panic("ring: Batch.SetLen index out of range")
	}
	if b.stale() {
		return ErrStale
	}
	if uint(n) > uint(b.p.g.slotSize) {
		return commitLenErr(n)
	}
	b.p.batchLens[i] = uint32(n)
	return nil
}

// ClaimBatch claims up to max consecutive free slots — at least one,
// waiting for it as the wait strategy says. Fill them through the Batch and
// publish them all with one store by CommitBatch. On a record ring it
// claims one message of up to MaxMessage bytes (records have no fixed size
// to claim many of: ClaimN claims one of the size you need, SendBatch sends
// many).
func (p *Producer) ClaimBatch(ctx context.Context, max int) (_ Batch, err error) {
	if p.missing() {
		return Batch{}, errNoProducer
	}
	defer p.r.endGuard(&err, beginGuard())
	if err := p.noClaimOpen("ClaimBatch"); err != nil {
		return Batch{}, err
	}
	if max <= 0 {
		panic("ring: Producer.ClaimBatch with max <= 0")
	}
	if err := p.r.shrunk(); err != nil { // known now: no batch to fill in vain
		return Batch{}, err
	}
	start, n, err := p.e.ClaimBatch(ctx, max)
	if err != nil {
		return Batch{}, err
	}
	if err := p.claimable(); err != nil { // as Producer.opened: a wait may have met the cut
		p.e.Abort()
		return Batch{}, err
	}
	p.claimed, p.batch = uint64(n), true
	if cap(p.batchLens) < n {
		p.batchLens = make([]uint32, n) // once per batch larger than any before
	}
	p.batchLens = p.batchLens[:n]
	clear(p.batchLens)
	return Batch{p: p, start: start, n: n, gen: p.claims}, nil
}

// CommitBatch publishes the first k slots of the open batch with one cursor
// store and drops the rest (on an MPMC or MPSC ring they hold their slots
// until a consumer passes over them: see Abort). It returns nil once they
// are published. Close (the producer's, or the ring's from another
// goroutine) ends an open batch: CommitBatch then returns ErrClosed,
// having published nothing, as Commit does; ErrTruncated (a peer shrank
// the file) ends it unpublished. CommitBatch with no batch open, or of k
// below zero or beyond the batch, panics.
func (p *Producer) CommitBatch(k int) (err error) {
	if p.missing() {
		return errNoProducer
	}
	if !p.unguarded {
		defer p.endGuardSent(nil, &err, *p.sent, beginGuard()) // leaves too
	} else {
		defer p.leave()
	}
	claimed := p.claimed // once: the ring's Close may zero it meanwhile
	if claimed == 0 && (p.closed || p.r.closing.Load()) {
		p.claims++
		return ErrClosed
	}
	if claimed == 0 || !p.batch || uint64(k) > claimed || k < 0 {
		panic("ring: Producer.CommitBatch without a batch of that many slots") // the claim stays open and usable
	}
	p.claims++
	if !p.entered() { // Close ended the batch
		return p.closedAtEntry()
	}
	p.claimed = 0
	if err := p.r.shrunk(); err != nil {
		p.e.Abort() // the ring is dead: the batch ends unpublished
		return err
	}
	p.e.CommitBatch(k, p.batchLens[:k])
	return nil
}

// SendBatch copies as many of msgs as there are free slots — at least one,
// waiting for it as the wait strategy says — and publishes them with one
// store. It returns how many it sent. A message beyond the slot size stops
// the batch before it with ErrTooLarge; those before it are sent (if it is
// the first: ErrTooLarge at once, with no wait for room). An empty msgs
// sends nothing and returns 0, nil at once. On a record ring it sends as
// many as fit in the free bytes.
func (p *Producer) SendBatch(ctx context.Context, msgs [][]byte) (n int, err error) {
	if p.missing() {
		return 0, errNoProducer
	}
	defer p.endGuardSent(&n, &err, *p.sent, beginGuard())
	fit := len(msgs)
	for i, m := range msgs {
		if uint(len(m)) > uint(p.g.slotSize) {
			fit = i
			break
		}
	}
	if len(msgs) > 0 && fit == 0 { // as Send: known now, nothing to wait for
		return 0, errTooLargeSend
	}
	if err := p.noClaimOpen("SendBatch"); err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := p.r.shrunk(); err != nil {
		return 0, err
	}
	if !p.entered() {
		return 0, p.closedAtEntry()
	}
	return p.e.SendBatch(ctx, msgs, fit)
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
// once by ReceiveBatch (so that At needs no fault guard), is checked: a bad
// one is ErrCorrupt. After the batch's Release, or once the Ring's Close
// has begun, it returns ErrStale.
func (m Messages) At(i int) ([]byte, error) {
	// The fast path, with no call: a slot ring's live batch and a length
	// in bounds. Anything else, at, which says why.
	if c := m.c; uint(i) < uint(m.n) && c != nil && m.gen == c.leases && c.rec == nil && !c.r.closing.Load() {
		if n := c.lens[i]; n <= c.g.slotSize {
			return c.g.payload(m.start+uint64(i), n), nil
		}
	}
	return m.at(i)
}

func (m Messages) at(i int) ([]byte, error) {
	if uint(i) >= uint(m.n) {
		panic("ring: Messages.At index out of range")
	}
	if m.c == nil || m.gen != m.c.leases || m.c.r.closing.Load() { // closing: as Batch.stale
		return nil, ErrStale
	}
	if m.c.rec != nil {
		return m.c.rec.at(i)
	}
	return m.c.g.leased(m.c.r, m.start+uint64(i), m.c.lens[i])
}

// ReceiveBatch leases up to max published messages — at least one, waiting
// for it as the wait strategy says. Release frees them all with one store.
func (c *Consumer) ReceiveBatch(ctx context.Context, max int) (_ Messages, err error) {
	if c.missing() {
		return Messages{}, errNoConsumer
	}
	defer c.r.endGuard(&err, beginGuard())
	if err := c.notHolding("ReceiveBatch"); err != nil {
		return Messages{}, err
	}
	if max <= 0 {
		panic("ring: Consumer.ReceiveBatch with max <= 0")
	}
	start, lens, err := c.e.ReceiveBatch(ctx, max, c.lens[:0])
	if err != nil {
		return Messages{}, err
	}
	c.lens, c.held = lens, true // kept: it grows once per larger batch than any before
	return Messages{c: c, start: start, n: len(lens), gen: c.leases}, nil
}
