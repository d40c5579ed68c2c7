package ring

// A broadcast reader's per-message calls: the fault guard, then the body.

import "context"

// Receive returns the next message, waiting for one as the wait strategy
// says. The slice is the message in place, in shared memory (for a
// lossless reader still reading what was published before it joined, a
// validated copy): read it, do not write it, and call Release; it is valid
// until then (or the Ring's Close: see Ring.Close). Receive while holding a
// message panics.
//
// A lossy reader that was overrun gets a *LapError (errors.Is(err,
// ErrLapped)) with the count of messages it missed; the next call goes on
// after them. At the end of a closed stream Receive returns ErrClosed; when
// the producer's process died, ErrPeerDead.
func (rd *Reader) Receive(ctx context.Context) (_ []byte, err error) {
	if rd.missing() {
		return nil, errNoReader
	}
	if !rd.unguarded {
		defer rd.r.endGuard(&err, beginGuard())
	}
	return rd.receive(ctx, true, "Receive")
}

// TryReceive is Receive without waiting: ErrEmpty when there is no message.
func (rd *Reader) TryReceive() (_ []byte, err error) {
	if rd.missing() {
		return nil, errNoReader
	}
	if !rd.unguarded {
		defer rd.r.endGuard(&err, beginGuard())
	}
	return rd.receive(context.Background(), false, "TryReceive")
}

// Release ends the lease of the message (or batch) Receive gave out and
// moves the reader past it. For a lossy reader it returns a *LapError when
// the producer overwrote the leased slot meanwhile: what was read may be
// torn and must be discarded, and the count includes the leased messages.
// Otherwise it returns nil. After Close (the reader's or the ring's) it
// does nothing and returns ErrClosed, so a deferred Release is safe.
// Release without a lease panics.
func (rd *Reader) Release() (err error) {
	if rd.missing() {
		return errNoReader
	}
	if rd.r.closing.Load() || rd.closed { // as Consumer.Release
		return ErrClosed
	}
	if !rd.unguarded {
		rd.took = false
		defer rd.endGuardTaken(nil, &err, beginGuard())
	}
	if rd.held == 0 {
		if rd.r.closing.Load() || rd.closed { // the ring's Close ran meanwhile
			return ErrClosed
		}
		panic("ring: Reader.Release without a received message")
	}
	rd.leases++
	if rd.rec != nil {
		return rd.recRelease()
	}
	q, k := rd.q, uint64(rd.held)
	rd.held = 0
	if !rd.lossless && !rd.validate(q) {
		// The oldest leased slot is overwritten first: if it still holds
		// q, so do the others.
		return rd.overrun()
	}
	rd.q = q + k
	rd.stats.Messages += k
	rd.stats.Bytes += rd.heldBytes
	rd.copied = false
	rd.took = true
	rd.storeCursor()
	rd.ctr.tick(&rd.stats)
	return nil
}

// Recv copies the next message into buf and moves past it, waiting for one
// as the wait strategy says. The copy is validated after it is made, so
// Recv never returns a torn message: a lossy reader overrun meanwhile gets
// a *LapError instead (buf then holds garbage). A message longer than buf
// stays in the ring and Recv returns io.ErrShortBuffer.
func (rd *Reader) Recv(ctx context.Context, buf []byte) (n int, err error) {
	if rd.missing() {
		return 0, errNoReader
	}
	if !rd.unguarded {
		rd.took = false
		defer rd.endGuardTaken(&n, &err, beginGuard())
	}
	return rd.recv(ctx, buf, true, "Recv")
}

// TryRecv is Recv without waiting: ErrEmpty when there is no message.
func (rd *Reader) TryRecv(buf []byte) (n int, err error) {
	if rd.missing() {
		return 0, errNoReader
	}
	if !rd.unguarded {
		rd.took = false
		defer rd.endGuardTaken(&n, &err, beginGuard())
	}
	return rd.recv(context.Background(), buf, false, "TryRecv")
}

// notHolding is Consumer.notHolding for a reader.
func (rd *Reader) notHolding(op string) error {
	if rd.held == 0 {
		return nil
	}
	if rd.closed || rd.r.closing.Load() {
		return ErrClosed
	}
	panic("ring: Reader." + op + " while holding a message; Release it first")
}

// receive leases the next message once it is published, waiting for it
// (block) or reporting ErrEmpty.
func (rd *Reader) receive(ctx context.Context, block bool, op string) ([]byte, error) {
	if rd.closed {
		return nil, ErrClosed
	}
	if err := rd.notHolding(op); err != nil {
		return nil, err
	}
	for {
		m, err := rd.leaseAny()
		if err != errPending {
			return m, err
		}
		if err := rd.pending(ctx, block); err != nil {
			return nil, err
		}
	}
}

func (rd *Reader) recv(ctx context.Context, buf []byte, block bool, op string) (int, error) {
	if rd.closed {
		return 0, ErrClosed
	}
	if err := rd.notHolding(op); err != nil {
		return 0, err
	}
	for {
		n, err := rd.takeAny(buf)
		if err != errPending {
			return n, err
		}
		if err := rd.pending(ctx, block); err != nil {
			return 0, err
		}
	}
}

// pending is what a call does while nothing is published at q: wait
// (block), or report ErrEmpty, or the end of a closed stream.
func (rd *Reader) pending(ctx context.Context, block bool) error {
	rd.stats.Empty++ // a finding, waited out or not, as the other kinds count it
	if block {
		return rd.await(ctx)
	}
	if err := rd.closedShort(); err != nil {
		return err
	}
	if rd.waiting.foundDead || rd.waiting.polls.Due(rd.wait.config(), rd.q) { // wait.go: noteProbe
		if err := rd.waiting.noteProbe(rd.r.tryProbe(readerWait{rd})); err != nil {
			return err
		}
	}
	return ErrEmpty
}

// lease leases the message at q: in place, or, for a lossless joiner below
// protect, as a validated copy.
func (rd *Reader) lease() ([]byte, error) {
	for {
		n, err := rd.peek()
		if err != nil {
			return nil, err
		}
		q := rd.q
		if !rd.r.intact() {
			return nil, rd.r.errTruncated()
		}
		if !rd.lossless || q >= rd.protect {
			rd.held, rd.heldBytes, rd.copied = 1, uint64(n), false
			rd.lat.observe(q)
			return rd.g.payload(q, n), nil
		}
		buf := rd.scratch(rd.g.slotSize)
		copy(buf, rd.g.payload(q, n))
		if !rd.validate(q) {
			continue // peek moves the start on
		}
		if !rd.r.intact() { // after the copy: see guard.go
			return nil, rd.r.errTruncated()
		}
		rd.held, rd.heldBytes, rd.copied = 1, uint64(n), true
		rd.lat.observe(q)
		return buf[:n], nil
	}
}

// unguardedCopy is what a lossless reader's copy, made with no check
// because the gate kept the producer off the slot, says once the Ring's
// Close has begun: Close lets go of the gate from its own goroutine, so
// the producer may have overwritten the slot under the copy. (Close sets
// closing before it lets go: a copy that finds it unset was whole.)
func (rd *Reader) unguardedCopy() error { return rd.r.errClosedDuringCall() }

// scratch is the buffer a lossless joiner copies into, made on first use
// and read once: the Ring's Close, on another goroutine, drops rd.buf, and
// a call racing it keeps the buffer it took (an unguarded one would
// otherwise panic slicing nil).
func (rd *Reader) scratch(size uint32) []byte {
	buf := rd.buf
	if buf == nil {
		buf = make([]byte, size)
		rd.buf = buf
	}
	return buf
}

func (rd *Reader) take(buf []byte) (int, error) {
	for {
		n, err := rd.peek()
		if err != nil {
			return 0, err
		}
		q := rd.q
		check := !rd.lossless || q < rd.protect
		stamp, sampled := rd.lat.peekStamp(q)
		if int(n) > len(buf) {
			if check && !rd.validate(q) {
				continue
			}
			return 0, shortBuffer(n, buf)
		}
		splitCopy(buf, rd.g.payload(q, n), stepMidRead)
		if check && !rd.validate(q) {
			continue // peek reports the overrun
		}
		if !check && rd.r.closing.Load() {
			return 0, rd.unguardedCopy()
		}
		if !rd.r.intact() { // after the copy: see guard.go
			return 0, rd.r.errTruncated()
		}
		if sampled {
			rd.lat.record(stamp, uint64(nanotime()))
		}
		rd.q++
		rd.stats.Messages++
		rd.stats.Bytes += uint64(n)
		rd.took, rd.tookLen = true, int(n)
		rd.storeCursor()
		rd.ctr.tick(&rd.stats)
		return int(n), nil
	}
}
