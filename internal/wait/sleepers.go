package wait

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

// Mode is what a sleepers word holds.
type Mode uint8

const (
	Flag   Mode = iota // a flag with one sleeper, who clears it when done (SPSC)
	Shared             // a flag many share; only the waker clears it (broadcast, the gate)
	Count              // an epoch and a count (MPMC)
)

// Sleepers is a futex word and the sleepers word for it, made from the
// mapping's words by the waiter and the waker when they need it.
type Sleepers struct {
	Word *atomic.Uint32 // the sleepers word
	Wake *atomic.Uint32 // the futex word; bumped on every wake
	Mode Mode
}

// Announce counts the caller in and returns its epoch (zero for a flag):
// a full fence, the sleeper's half of the Dekker pair.
func (s Sleepers) Announce() uint32 {
	if s.Mode == Count {
		return Announce(s.Word)
	}
	s.Word.Swap(1) // a swap, not a store: a full fence even under the race detector
	return 0
}

// Withdraw takes back an announcement made in epoch e, where the mode lets
// a sleeper.
func (s Sleepers) Withdraw(e uint32) {
	switch s.Mode {
	case Flag:
		s.Word.Store(0)
	case Count:
		Withdraw(s.Word, e)
	}
}

// WakeAll wakes everyone announced on s, if anyone is, and reports whether
// it made the system call. The caller has just published with a full fence
// (or its sleepers force one): the waker's half of the Dekker pair.
func (s Sleepers) WakeAll() bool {
	if s.Mode == Count {
		for {
			w := s.Word.Load()
			if layout.SleepersCount(w) == 0 {
				return false
			}
			if s.Word.CompareAndSwap(w, layout.NextSleepersEpoch(w)) {
				break
			}
		}
	} else if s.Word.Swap(0) == 0 {
		return false
	}
	// SYNC POINT: wake. Bumped after the sleepers word was cleared: a
	// sleeper reads the wake word before it announces, so one whose
	// announcement this waker cleared finds the word changed if it has not
	// slept yet.
	s.Wake.Add(1)
	futex.Wake((*uint32)(unsafe.Pointer(s.Wake)), math.MaxInt32)
	return true
}

// Announce counts a sleeper into the epoch-and-count word s and returns its
// epoch. A count at its maximum (hostile or improbable) stays there: not
// zero, so a waker still wakes.
func Announce(s *atomic.Uint32) uint32 {
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

// Withdraw takes back an announcement made in epoch e, unless a waker has
// started a later epoch since (it cleared the count and woke everyone).
func Withdraw(s *atomic.Uint32, e uint32) {
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
