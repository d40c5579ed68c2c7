package ring

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// The fault guard.
//
// A peer may shrink the ring's file while this process has it mapped (by
// bug or on purpose: any process that may open the file may ftruncate it).
// The pages past the new end leave every mapping, and the next load or
// store there raises SIGBUS, which the Go runtime turns into a fatal error
// for the whole process. Ring.Close turns the mapping inaccessible while a
// goroutine may still be inside a call (see shm.File.Close), which would
// fault the same way with SIGSEGV.
//
// Every exported call that touches the mapping therefore begins with
//
//	defer h.r.endGuard(&err, beginGuard())
//
// or, for the per-message calls, which Options.Unguarded exempts,
//
//	if !h.unguarded {
//		defer h.r.endGuard(&err, beginGuard())
//	}
//
// (an open-coded defer: an unguarded call pays one flag test for it).
// beginGuard sets runtime/debug.SetPanicOnFault for the calling goroutine,
// so a fault becomes a panic carrying the faulting address; endGuard puts
// the goroutine's setting back and, if the call faulted inside this ring's
// mapping, turns the panic into ErrTruncated (or ErrClosed once the ring is
// closed). Once the Ring's Close has begun, an index or slice bounds error
// is ErrClosed too (faulted says why). A panic for any other reason, or a
// fault at any other address, goes on as it would have.
//
// Not under the race detector: a program built with -race runs every
// atomic operation in the detector's C runtime on the system stack, where
// the Go runtime cannot turn a fault into a panic, so a truncation met by an
// atomic load or store (most of the engine's touches) ends the process as
// it would without the guard. Copies and plain loads are still guarded.
//
// A truncation that cuts inside a page leaves that page mapped with its
// tail zeroed, so a copied message could be damaged without any fault. The
// end unit catches it (layout.EndAlign says why): readers check the end
// mark after copying a message and before handing one out in place.

// beginGuard makes a fault in this goroutine a recoverable panic and
// returns the setting to restore.
func beginGuard() bool { return debug.SetPanicOnFault(true) }

// endGuard is deferred by every guarded call: see the comment above.
func (r *Ring) endGuard(err *error, old bool) {
	debug.SetPanicOnFault(old)
	if v := recover(); v != nil {
		*err = r.faulted(v)
	}
}

// endGuardConsumed is endGuard for the Consumer's calls that consume
// (Recv, TryRecv, Release): a fault after the call's consuming store (the
// Ring's Close unmapped the ring under the wake-up that follows it) leaves
// the message consumed, so the call returns it (n, when not nil) and nil,
// not an ErrClosed that would say it comes again.
func (c *Consumer) endGuardConsumed(n *int, err *error, old bool) {
	debug.SetPanicOnFault(old)
	if v := recover(); v != nil {
		*err = c.r.faulted(v)
		if got, ok := c.e.consumed(); ok {
			*err = nil
			if n != nil {
				*n = got
			}
		}
	}
}

// endGuardTaken is endGuard for the Reader's calls that move past what
// they read (Recv, TryRecv, Release): a fault after the read was validated
// (the Ring's Close unmapped the ring under the cursor store that follows)
// leaves what was read good, so the call returns it (n, when not nil) and
// nil, not an ErrClosed that would say it was not read.
func (rd *Reader) endGuardTaken(n *int, err *error, old bool) {
	debug.SetPanicOnFault(old)
	if v := recover(); v != nil {
		*err = rd.r.faulted(v)
		if rd.took && rd.r.closing.Load() {
			*err = nil
			if n != nil {
				*n = rd.tookLen
			}
		}
	}
}

// endGuardSent is endGuard for the Producer's calls that publish (Send,
// TrySend, Commit, SendBatch): a fault after a publishing store (the
// Ring's Close unmapped the ring under the wake-up that follows it) leaves
// what the store published in the ring, where the next consumer receives
// it, so the call says so: nil, and for SendBatch the count (n, when not
// nil), not an ErrClosed that would say the messages were not sent.
// before is the engine's count of messages published when the call began.
// A fault on a shrunk file stays ErrTruncated: what was published there
// reaches no consumer (shrunk).
func (p *Producer) endGuardSent(n *int, err *error, before uint64, old bool) {
	p.leave()
	debug.SetPanicOnFault(old)
	if v := recover(); v != nil {
		*err = p.r.faulted(v)
		if sent := *p.sent - before; sent > 0 && p.r.closing.Load() {
			*err = nil
			if n != nil {
				*n = int(sent)
			}
		}
	}
}

// endGuardQuiet is endGuard for calls with no error to return (Abort,
// Lag): the fault is dropped, and the handle's next call that
// touches the mapping reports it.
func (r *Ring) endGuardQuiet(old bool) {
	debug.SetPanicOnFault(old)
	if v := recover(); v != nil {
		_ = r.faulted(v)
	}
}

// faulted maps a recovered panic to the error the call returns, or panics
// again with it when it is not a fault inside this ring's mapping.
//
// Once the Ring's Close has begun, an index or slice bounds error is
// ErrClosed as well: Close closes each handle from its own goroutine while
// a call on another may be inside it, so that call can find its handle's
// bookkeeping (a lease's spans, an MPMC consumer's adopted positions)
// emptied between checking it and using it. Those reads are made once
// where they are known; this catches what was missed, in guarded calls.
// Any other panic goes on, closing or not.
func (r *Ring) faulted(v any) error {
	if r.closing.Load() && outOfBounds(v) {
		return r.errClosedDuringCall()
	}
	f, ok := v.(interface{ Addr() uintptr })
	if !ok || f.Addr()-r.memAddr >= r.memLen {
		panic(v)
	}
	off := f.Addr() - r.memAddr
	if r.closing.Load() {
		return r.errClosedDuringCall()
	}
	return fmt.Errorf("%w: ring=%s: fault at file offset=%d of %d: the file was shrunk or unmapped under the ring",
		ErrTruncated, r.name, off, r.hdr.FileSize)
}

// outOfBounds: v is the runtime's index or slice bounds panic (its
// message is all that tells it from other runtime errors).
func outOfBounds(v any) bool {
	e, ok := v.(runtime.Error)
	if !ok {
		return false
	}
	msg := e.Error()
	return strings.HasPrefix(msg, "runtime error: index out of range") || strings.HasPrefix(msg, "runtime error: slice bounds out of range")
}

// intact reports whether the end mark still says the file has its full
// size. It is one load of a line nobody writes, so it stays in every
// reader's cache; after a truncation before the end unit it faults (which
// the guard reports), and over a file shrunk and grown back it reads zero.
func (r *Ring) intact() bool { return r.endMark.Load() == layout.EndMark }

// shrunk is ErrTruncated once the end mark is gone, before a producer
// publishes: consumers and readers check the mark as they read, so what it
// published into a shrunk file would reach no one while its calls said
// nil. One load of a line nobody writes (intact), on the per-message path.
func (r *Ring) shrunk() error {
	if r.intact() {
		return nil
	}
	return r.errTruncated()
}

// claimable is what a claim the engine made is before the producer hands
// it out: ErrClosed once a Close began (its slot may lie in the mapping
// Close retired), ErrTruncated once the file shrank (an SPSC or record
// claim's slot page may be gone: its first write was a SIGBUS, while
// Send said ErrTruncated; a black-box tester).
func (p *Producer) claimable() error {
	if p.closed || p.r.closing.Load() {
		return ErrClosed
	}
	return p.r.shrunk()
}

// errTruncated is what a reader reports when the end mark is gone.
func (r *Ring) errTruncated() error {
	return fmt.Errorf("%w: ring=%s: the end mark at file offset=%d is gone: the file was shrunk, or its pages punched out (fallocate)", ErrTruncated, r.name, r.hdr.EndOffset)
}

// setMapping records the mapping's range for faulted and the end mark's
// address; it is called once, before the Ring is shared.
func (r *Ring) setMapping(mem []byte) {
	r.mem = mem
	r.memAddr = uintptr(unsafe.Pointer(&mem[0]))
	r.memLen = uintptr(len(mem))
	r.endMark = r.word64(int(r.hdr.EndOffset))
}
