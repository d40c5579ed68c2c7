package ring

// Sleepers: how a waiter tells the other side that it is about to sleep on
// a futex word, and how that side wakes it. One type serves every kind;
// the word's meaning is fixed by the layout (LAYOUT.md 13.6):
//
//   - a flag (SPSC, broadcast, the broadcast gate): a sleeper swaps it to
//     1; a waker that swaps it back from non-zero bumps the wake word and
//     wakes everyone. The SPSC side is the flag's only sleeper and clears
//     it again when it stops waiting; a flag that many share (broadcast
//     readers) is cleared only by the waker, at the cost of one wake.
//   - an epoch and a count in one u32 (MPMC, layout.SleepersCount): each
//     sleeper counts itself in and out. A waker that finds the count not
//     zero starts a new epoch with a count of zero and wakes every
//     sleeper, so publishes that follow while the sleepers are still
//     getting up make no system call. A sleeper withdraws only while its
//     epoch lasts, so it never takes back a later sleeper's announcement;
//     one killed while announced leaves a count the next waker clears:
//     one wake, then none.
//
// Either way the waker clears before it wakes, so the wake is once per
// round of sleeps, not once per message.

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/layout"
)

// sleepMode is the meaning of a sleepers word.
type sleepMode uint8

const (
	sleepFlag   sleepMode = iota // a flag with one sleeper, who clears it when done (SPSC)
	sleepShared                  // a flag any number of sleepers share; only the waker clears it (broadcast)
	sleepCount                   // an epoch and a count (MPMC)
)

// sleepers is one futex word and the sleepers word that says someone sleeps
// on it. A value: the waiter and the waker each make one from the mapping's
// words when they need it.
type sleepers struct {
	word *atomic.Uint32 // the sleepers word
	wake *atomic.Uint32 // the futex word; bumped on every wake
	mode sleepMode
}

// announce counts the caller among the sleepers and returns the epoch it
// announced in (zero for a flag). A full fence either way (a swap or a
// CAS): the sleeper's half of the Dekker pair, announce then re-check.
func (s sleepers) announce() uint32 {
	if s.mode == sleepCount {
		return announce(s.word)
	}
	s.word.Swap(1) // a swap, not a store: a full fence even under the race detector
	return 0
}

// withdraw takes back an announcement made in epoch e, where the mode lets
// a sleeper do so.
func (s sleepers) withdraw(e uint32) {
	switch s.mode {
	case sleepFlag:
		s.word.Store(0)
	case sleepCount:
		withdraw(s.word, e)
	}
}

// wakeAll wakes everyone announced on s, if anyone is, and reports whether
// it made the system call. Callers have published (a cursor, a seq, a
// state) with a full fence just before, or their sleepers force one with
// membarrier: the waker's half of the Dekker pair. One load when nobody
// sleeps.
func (s sleepers) wakeAll() bool {
	if s.mode == sleepCount {
		for {
			w := s.word.Load()
			if layout.SleepersCount(w) == 0 {
				return false
			}
			if s.word.CompareAndSwap(w, layout.NextSleepersEpoch(w)) {
				break
			}
		}
	} else if s.word.Swap(0) == 0 {
		return false
	}
	// SYNC POINT: wake. Bumped after the sleepers word was cleared: a
	// sleeper reads the wake word before it announces, so one whose
	// announcement this waker cleared finds the word changed if it has not
	// slept yet.
	s.wake.Add(1)
	futex.Wake((*uint32)(unsafe.Pointer(s.wake)), math.MaxInt32)
	return true
}

// announce counts a sleeper into the epoch-and-count word s and returns the
// epoch it announced in. The CAS is a full fence. A count at its maximum
// (only hostile or improbable) stays there: not zero, so a waker still
// wakes.
func announce(s *atomic.Uint32) uint32 {
	for {
		w := s.Load()
		if layout.SleepersCount(w) == layout.SleepersCountMask {
			s.Add(0) // the fence the CAS would have been
			return layout.SleepersEpoch(w)
		}
		if s.CompareAndSwap(w, w+1) {
			return layout.SleepersEpoch(w)
		}
	}
}

// withdraw takes back an announcement made in epoch e, unless a waker has
// started a later epoch since (it cleared the count and woke everyone).
func withdraw(s *atomic.Uint32, e uint32) {
	for {
		w := s.Load()
		if layout.SleepersEpoch(w) != e || layout.SleepersCount(w) == 0 {
			return
		}
		if s.CompareAndSwap(w, w-1) {
			return
		}
	}
}

// The wake functions of every kind: the publishing side calls them after
// its publishing store, each where a sleeper of the other side may wait.

// wakePeer wakes the other SPSC side: it sleeps on this side's wake word,
// announced in its own sleepers flag.
func (e *endpoint) wakePeer() {
	if (sleepers{word: e.peer.sleepers, wake: e.own.wake}).wakeAll() {
		e.stats.Wakes++
	}
}

// wakeReaders wakes every sleeping broadcast reader.
func (p *bcastProducer) wakeReaders() {
	if (sleepers{word: p.w.sleepers, wake: p.w.wake}).wakeAll() {
		p.stats.Wakes++
	}
}

// wakeProducer wakes a broadcast producer sleeping at the gate.
func (rd *Reader) wakeProducer() {
	if (sleepers{word: rd.w.gateSleepers, wake: rd.w.gateWake}).wakeAll() {
		rd.stats.Wakes++
	}
}

// wakeData wakes MPMC consumers waiting for data, wakeSpace producers
// waiting for space.
func (h *mpmcHandle) wakeData()  { h.wakeAll(h.dataSleepers, h.dataWake) }
func (h *mpmcHandle) wakeSpace() { h.wakeAll(h.spaceSleepers, h.spaceWake) }

func (h *mpmcHandle) wakeAll(s, wake *atomic.Uint32) {
	if (sleepers{word: s, wake: wake, mode: sleepCount}).wakeAll() {
		h.stats.Wakes++
	}
}
