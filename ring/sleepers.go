package ring

// Sleepers: a waiter tells the other side it is about to sleep on a futex
// word, and that side wakes it. The word's meaning is the layout's
// (LAYOUT.md 13.6): a flag (SPSC, broadcast, the gate) that a sleeper swaps
// to 1 and a waker swaps back; or an epoch and a count (MPMC,
// layout.SleepersCount) that each sleeper counts itself into and out of,
// and that a waker resets to a new epoch with a zero count. Either way the
// waker clears before it bumps the wake word and wakes everyone, so a
// round of sleeps costs one wake, not one per message; an MPMC sleeper
// withdraws only while its epoch lasts (never taking back a later one's
// announcement), and one killed while announced costs the next waker one
// wake.

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/layout"
)

type sleepMode uint8

const (
	sleepFlag   sleepMode = iota // a flag with one sleeper, who clears it when done (SPSC)
	sleepShared                  // a flag many share; only the waker clears it (broadcast, the gate)
	sleepCount                   // an epoch and a count (MPMC)
)

// sleepers is a futex word and the sleepers word for it, made from the
// mapping's words by the waiter and the waker when they need it.
type sleepers struct {
	word *atomic.Uint32 // the sleepers word
	wake *atomic.Uint32 // the futex word; bumped on every wake
	mode sleepMode
}

// announce counts the caller in and returns its epoch (zero for a flag):
// a full fence, the sleeper's half of the Dekker pair.
func (s sleepers) announce() uint32 {
	if s.mode == sleepCount {
		return announce(s.word)
	}
	s.word.Swap(1) // a swap, not a store: a full fence even under the race detector
	return 0
}

// withdraw takes back an announcement made in epoch e, where the mode lets
// a sleeper.
func (s sleepers) withdraw(e uint32) {
	switch s.mode {
	case sleepFlag:
		s.word.Store(0)
	case sleepCount:
		withdraw(s.word, e)
	}
}

// wakeAll wakes everyone announced on s, if anyone is, and reports whether
// it made the system call. The caller has just published with a full fence
// (or its sleepers force one): the waker's half of the Dekker pair.
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

// announce counts a sleeper into the epoch-and-count word s and returns its
// epoch. A count at its maximum (hostile or improbable) stays there: not
// zero, so a waker still wakes.
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

// The wake functions, called after a publishing store.

// wakePeer wakes the other SPSC side, asleep on this side's wake word.
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

// wakeData wakes MPMC consumers waiting for data, wakeSpace producers.
func (h *mpmcHandle) wakeData()  { h.wakeAll(h.dataSleepers, h.dataWake) }
func (h *mpmcHandle) wakeSpace() { h.wakeAll(h.spaceSleepers, h.spaceWake) }

func (h *mpmcHandle) wakeAll(s, wake *atomic.Uint32) {
	if (sleepers{word: s, wake: wake, mode: sleepCount}).wakeAll() {
		h.stats.Wakes++
	}
}
