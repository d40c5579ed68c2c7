package ring

// The attached counts of an MPMC ring, and the stream word.
//
// Each side's count says how many of its entries are attached (a dead
// holder's included until it is reaped, a left consumer's until it is
// reaped). The producers' count and the stream word (open, closed, peer
// dead) are one u64 (layout.ProducerWord), changed by one compare-and-swap:
// the last producer's leave, or the reap of the last dead one, and the mark
// that ends the stream are one step. As two stores, a process killed
// between them left the stream open with no producer, so consumers waited
// for ever; and a last producer's late Closed landed over a newer
// producer's join, hiding that producer's death later.
//
// A process killed between its entry's State store and its count update
// leaves its side's count one too high, never too low: a join counts
// before it stores Attached, a leave and a reap store Free before they
// uncount. Too high, a producers' count keeps the stream open for ever and
// a full count refuses every joiner. So a joiner that holds a free entry
// while the count says the side is full does not count itself (the count
// cannot be right, and stays at least the truth), and a waiting handle
// that sees a count above the entries attached brings it down to them
// (reconcile), under every lock of the side so that nothing is half done.

import (
	"errors"

	"github.com/shmring/shmring/layout"
)

// countJoin counts this handle's entry in its side, unless it was counted
// already (its dead or left predecessor's), or the count is full: the
// entry this handle holds is free, so a full count holds a leaked one. A
// producer reopens the stream in the same step.
func (h *mpmcHandle) countJoin(wasCounted bool) error {
	if h.consumer {
		for {
			n := h.consumers.Load()
			switch {
			case n > h.maxC || wasCounted && n == 0:
				return h.r.corrupt("consumers attached=%d with entry=%d joining (counted %v), limit=%d", n, h.index, wasCounted, h.maxC)
			case wasCounted || n == h.maxC:
				return nil
			case h.consumers.CompareAndSwap(n, n+1):
				return nil
			}
		}
	}
	for {
		w := h.prodWord.Load()
		n, s := layout.ProducerWordParts(w)
		if n > h.maxP || wasCounted && n == 0 || !layout.ValidStream(s) {
			return h.r.corrupt("producers attached=%d stream=%d with entry=%d joining (counted %v), limit=%d", n, s, h.index, wasCounted, h.maxP)
		}
		if !wasCounted && n < h.maxP {
			n++
		}
		// A new producer reopens a closed or dead stream.
		if h.prodWord.CompareAndSwap(w, layout.ProducerWord(n, 0)) {
			return nil
		}
	}
}

// uncount drops entry i, just stored free, from its side's count. If it
// was the last producer, the stream ends in the same step: closed when it
// left, peer dead when it was reaped. It reports whether it ended the
// stream, so that the caller wakes the consumers.
func (h *mpmcHandle) uncount(i uint32, end uint32) (ended bool, err error) {
	if i >= h.maxP {
		for {
			n := h.consumers.Load()
			if n == 0 || n > h.maxC {
				return false, h.r.corrupt("consumers attached=%d with entry=%d leaving, limit=%d", n, i, h.maxC)
			}
			if h.consumers.CompareAndSwap(n, n-1) {
				return false, nil
			}
		}
	}
	for {
		w := h.prodWord.Load()
		n, s := layout.ProducerWordParts(w)
		if n == 0 || n > h.maxP || !layout.ValidStream(s) {
			return false, h.r.corrupt("producers attached=%d stream=%d with entry=%d leaving, limit=%d", n, s, i, h.maxP)
		}
		if n == 1 && s == 0 {
			s = end
		}
		// SYNC POINT: stream. The CAS (a full fence) that ends the
		// stream comes before the caller loads the data sleepers to wake
		// them; a sleeper announces itself, then loads this word.
		if h.prodWord.CompareAndSwap(w, layout.ProducerWord(n-1, s)) {
			return n == 1, nil
		}
	}
}

// reconcile brings a side's count down to its entries attached or left,
// when a holder killed between its State store and its count update left
// the count too high. A producers' count brought to 0 ends an open stream
// as peer dead: a producer died. It takes every lock of the side but this
// handle's own, so that no join, leave or reap is half done while it
// counts; a busy one (a live holder, or one passing through) means look
// again on a later tick (busy). Called once a tick by a waiting handle:
// the scan is loads, the locks only when the count is above the entries.
func (h *mpmcHandle) reconcile(consumerSide bool) error {
	_, err := h.tryReconcile(consumerSide)
	return err
}

// tryReconcile is reconcile, reporting whether it gave up on a busy lock
// with the count still above the entries.
func (h *mpmcHandle) tryReconcile(consumerSide bool) (busy bool, err error) {
	lo, hi := uint32(0), h.maxP
	if consumerSide {
		lo, hi = h.maxP, h.entries()
	}
	count := func() (attached uint32, err error) {
		for i := lo; i < hi; i++ {
			st, err := h.entryState(i)
			if err != nil {
				return 0, err
			}
			if st != layout.EntryFree {
				attached++
			}
		}
		return attached, nil
	}
	counted := func() uint32 {
		if consumerSide {
			return h.consumers.Load()
		}
		n, _ := layout.ProducerWordParts(h.prodWord.Load())
		return n
	}
	if attached, err := count(); err != nil || counted() <= attached {
		return false, err
	}
	var held []heldLock
	defer func() { h.r.unlockRoles(held) }()
	for i := lo; i < hi; i++ {
		if i == h.index && !h.closed && h.consumer == consumerSide {
			continue // this handle's own: held, and attached
		}
		l, err := h.r.lockAt(entryLockByte(i))
		if errors.Is(err, ErrBusy) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		held = append(held, heldLock{at: entryLockByte(i), l: l})
	}
	attached, err := count()
	if err != nil {
		return false, err
	}
	if consumerSide {
		if n := h.consumers.Load(); n > attached {
			h.consumers.CompareAndSwap(n, attached)
		}
		return false, nil
	}
	w := h.prodWord.Load()
	n, s := layout.ProducerWordParts(w)
	if n <= attached {
		return false, nil
	}
	if attached == 0 && s == 0 {
		s = layout.StreamPeerDead
	}
	// SYNC POINT: stream, as in uncount.
	if h.prodWord.CompareAndSwap(w, layout.ProducerWord(attached, s)) && attached == 0 {
		h.wakeData()
	}
	return false, nil
}

// closeReconcileTries bounds a closing producer's looks at a count left too
// high while another handle holds a producer entry's lock, attachPause
// apart: only when the count is above the entries (a producer was killed
// half-way through joining or leaving).
const closeReconcileTries = 20
