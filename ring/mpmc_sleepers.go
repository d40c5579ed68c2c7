package ring

// Sleeper accounting that survives a sleeper's death (LAYOUT.md 13.6).
//
// DataSleepers and SpaceSleepers count the participants of one side that
// sleep, or are about to: a publisher or releaser makes a FUTEX_WAKE system
// call whenever the count is not zero. A process killed while counted
// would leave the count raised forever, and every later message would pay
// for a system call. So each sleeper also steps its own entry's sleep
// counter (Flags) around its add and its subtract, and whoever reaps a dead
// entry (a joiner taking it over, or a reaper) takes the dead sleeper out:
//
//   - found Asleep: it counts exactly one; subtract one.
//   - found Announcing or Withdrawing: it died next to its add or its
//     subtract and may count one or none; recount the side instead.
//
// A recount reads every entry's sleep counter of the side, then the count,
// then the counters again; when no counter moved and none is Announcing or
// Withdrawing, the entries found Asleep are exactly the ones counted at the
// moment the count was read, and a CAS from that count to their number
// succeeds only when the adds and subtracts since cancel out, leaving the
// count exact. Corrections of one side's count are serialised by an OFD
// lock on its Sleepers byte (the kernel drops it if the holder dies), so no
// two of them undo each other.
//
// A recount that cannot get a quiet snapshot (a participant stopped with
// SIGSTOP in the middle of a step) gives up and leaves the count as it
// was: too high costs system calls, never a lost wake-up.

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/shmring/shmring/layout"
)

// announce counts this handle among sleepers, stepping its sleep counter
// around the add. The add is a full fence (the Dekker half of the wait).
func (h *mpmcHandle) announce(sleepers *atomic.Uint32) {
	h.ent.sleep.Add(1) // Announcing
	sleepers.Add(1)
	h.ent.sleep.Add(1) // Asleep
}

// withdraw undoes announce.
func (h *mpmcHandle) withdraw(sleepers *atomic.Uint32) {
	h.ent.sleep.Add(1) // Withdrawing
	sleepers.Add(^uint32(0))
	h.ent.sleep.Add(1) // Awake
}

// sleepersOf is the Sleepers word entry i's side sleeps on, and the bounds
// of that side's entries.
func (h *mpmcHandle) sleepersOf(i uint32) (sleepers *atomic.Uint32, lockByte int64, lo, hi uint32) {
	if i < h.maxP {
		return h.spaceSleepers, layout.MPMCSpaceSleepersLockByte, 0, h.maxP
	}
	return h.dataSleepers, layout.MPMCDataSleepersLockByte, h.maxP, h.entries()
}

// settleSleeper takes entry i's dead holder out of its side's sleepers
// count. The caller holds entry i's lock and the holder is gone.
func (h *mpmcHandle) settleSleeper(i uint32) {
	e := h.entry(i)
	f := e.sleep.Load()
	if f&layout.EntrySleepMask == layout.EntryAwake {
		return
	}
	sleepers, lockByte, lo, hi := h.sleepersOf(i)
	l, ok := h.lockSleepers(lockByte)
	if !ok {
		return // the count stays high: system calls, not lost wake-ups
	}
	defer h.r.unlockAt(lockByte, l)
	// Awake again, with the counter moved on (a recount's snapshot sees
	// the change).
	e.sleep.Store(f + (4 - f&layout.EntrySleepMask))
	if f&layout.EntrySleepMask == layout.EntryAsleep {
		for {
			n := sleepers.Load()
			if n == 0 || sleepers.CompareAndSwap(n, n-1) {
				break // zero: hostile or already corrected; never wrap
			}
		}
		return
	}
	h.recountSleepers(sleepers, lo, hi)
}

// lockSleepers takes the lock that serialises corrections of a sleepers
// count, waiting a while for another corrector to finish.
func (h *mpmcHandle) lockSleepers(at int64) (roleLock, bool) {
	for end := time.Now().Add(2 * recountPatience); ; {
		l, err := h.r.lockAt(at)
		if err == nil {
			return l, true
		}
		if !errors.Is(err, ErrBusy) || time.Now().After(end) {
			return roleLock{}, false
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// recountPatience is how long a recount waits for a quiet snapshot: far
// longer than any step of a running sleeper takes, a few ticks at most.
const recountPatience = 20 * time.Millisecond

// recountSleepers sets the sleepers count of the entries [lo, hi) to the
// number of them Asleep, from a quiet snapshot (see the file comment). It
// reports whether it did. The caller holds the side's sleepers lock.
func (h *mpmcHandle) recountSleepers(sleepers *atomic.Uint32, lo, hi uint32) bool {
	seen := make([]uint32, hi-lo) // a rare path: allocating is fine
	end := time.Now().Add(recountPatience)
	for try := 0; try == 0 || time.Now().Before(end); try++ {
		if try > 0 {
			if try < 16 {
				runtime.Gosched()
			} else {
				time.Sleep(50 * time.Microsecond)
			}
		}
		quiet := true
		for i := lo; i < hi; i++ {
			f := h.entry(i).sleep.Load()
			seen[i-lo] = f
			if s := f & layout.EntrySleepMask; s == layout.EntryAnnouncing || s == layout.EntryWithdrawing {
				quiet = false
			}
		}
		if !quiet {
			continue
		}
		n0 := sleepers.Load()
		asleep := uint32(0)
		for i := lo; i < hi; i++ {
			f := h.entry(i).sleep.Load()
			if f != seen[i-lo] {
				quiet = false
				break
			}
			if f&layout.EntrySleepMask == layout.EntryAsleep {
				asleep++
			}
		}
		if quiet && sleepers.CompareAndSwap(n0, asleep) {
			return true
		}
	}
	return false
}
