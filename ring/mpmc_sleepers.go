package ring

// The Sleepers words (LAYOUT.md 13.6): an epoch and a count of announced
// sleepers in one u32 (layout.SleepersCount).
//
// A waker that finds the count not zero starts a new epoch with a count of
// zero and wakes every sleeper, so publishes that follow while the sleepers
// are still getting up make no system call (the SPSC engine clears its
// sleeping flag the same way). A sleeper withdraws only while its epoch
// lasts, so it never takes back a later sleeper's announcement; and one
// killed while announced leaves a count the next waker clears: one wake,
// then none.

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/layout"
)

// announce counts this handle among the sleepers of word s and returns the
// epoch it announced in. The CAS is a full fence (the sleeper's half of the
// Dekker pair: announce, then re-check). A count at its maximum (only
// hostile or improbable) stays there: not zero, so a waker still wakes.
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

// wakeAll wakes every sleeper announced in s, sleeping on the futex word
// wake, if there is one: callers have changed a control word with a CAS (a
// full fence) just before, the waker's half of the Dekker pair. One load
// when nobody sleeps; the first waker of an epoch clears the count and
// makes the only system call.
func (h *mpmcHandle) wakeAll(s, wake *atomic.Uint32) {
	for {
		w := s.Load()
		if layout.SleepersCount(w) == 0 {
			return
		}
		if s.CompareAndSwap(w, layout.NextSleepersEpoch(w)) {
			break
		}
	}
	// SYNC POINT: wake. Bumped after the count was cleared: a sleeper
	// reads the wake word before it announces, so one whose announcement
	// this waker cleared finds the word changed if it has not slept yet.
	wake.Add(1)
	futex.Wake((*uint32)(unsafe.Pointer(wake)), math.MaxInt32)
	h.stats.Wakes++
}

func (h *mpmcHandle) wakeData()  { h.wakeAll(h.dataSleepers, h.dataWake) }
func (h *mpmcHandle) wakeSpace() { h.wakeAll(h.spaceSleepers, h.spaceWake) }
