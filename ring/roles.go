package ring

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
)

// The roles: each side of a ring is a set of words in the mapping and a
// liveness lock on one byte of the file, which the kernel drops when its
// holder dies.

// pid is this process's id as the ring's entries and counter blocks
// record their holder (a Go process does not fork without exec).
var pid = uint32(os.Getpid())

// role names a side of the ring: its words and its lock byte.
type role int

const (
	producerRole role = iota
	consumerRole
)

func (ro role) String() string {
	if ro == producerRole {
		return "producer"
	}
	return "consumer"
}

// side gathers one role's words in the mapping.
type side struct {
	cursor   *atomic.Uint64 // this side's cursor (see layout)
	wake     *atomic.Uint32 // futex word the other side sleeps on; bumped to wake it
	sleepers *atomic.Uint32 // non-zero while this side sleeps (or is about to) on the other side's wake word
	state    *atomic.Uint32
	epoch    *atomic.Uint32
	flags    *atomic.Uint32
	lockByte int64
}

// side gathers one role's words. The consumer's lie at the producer's
// offsets plus one fixed stride (layout).
func (r *Ring) side(ro role) side {
	d := int(ro) * (layout.ConsumerCursorOffset - layout.ProducerCursorOffset)
	return side{
		cursor:   r.word64(layout.ProducerCursorOffset + d),
		wake:     r.word32(layout.ProducerWakeOffset + d),
		sleepers: r.word32(layout.ProducerSleepersOffset + d),
		state:    r.word32(layout.ProducerStateOffset + d),
		epoch:    r.word32(layout.ProducerEpochOffset + d),
		flags:    r.word32(layout.ProducerFlagsOffset + d),
		lockByte: int64(layout.ProducerLockByte + d),
	}
}

// lockRole takes a role for a new handle, or reports ErrBusy.
func (r *Ring) lockRole(ro role) (roleLock, error) {
	l, err := r.lockAt(r.side(ro).lockByte)
	if errors.Is(err, ErrBusy) {
		return l, fmt.Errorf("%w: ring=%s role=%v", ErrBusy, r.name, ro)
	}
	return l, err
}

func (r *Ring) unlockRole(ro role, l roleLock) error { return r.unlockAt(r.side(ro).lockByte, l) }

// roleLock is a held liveness lock.
type roleLock = shm.Lock

// lockAt takes the liveness lock on byte at of the ring (an OFD write lock
// on the file, dropped by the kernel when its holder dies), or reports a
// bare ErrBusy when a live holder has it.
func (r *Ring) lockAt(at int64) (roleLock, error) {
	l, err := r.seg.Lock(at)
	if errors.Is(err, shm.ErrHeld) {
		return l, ErrBusy
	} else if err != nil {
		return l, fileErr(r.name, err, ErrFileTooBig) // EACCES on a ring another user made read-only to this one; no /proc
	}
	return l, nil
}

// unlockAt drops a lock lockAt took.
func (r *Ring) unlockAt(at int64, l roleLock) error { return r.seg.Unlock(at, l) }

// heldLock is a liveness lock lockAt took on byte at, let go of once.
type heldLock struct {
	at       int64
	l        roleLock
	unlocked bool
}

func (h *heldLock) unlock(r *Ring) error {
	if h.unlocked {
		return nil
	}
	h.unlocked = true
	return r.unlockAt(h.at, h.l)
}

// heldAt reports whether a live holder, this process included, has the
// lock on byte at. A system call: waiting and repair paths only.
func (r *Ring) heldAt(at int64) (bool, error) { return r.seg.Held(at) }

// abandoned reports whether the role whose words are state and epoch was
// left attached (its attached bit set) by a holder that no
// live process is: st is the state it found, for the caller to judge. A
// holder that closes stores its state before it unlocks, and a newcomer
// bumps the epoch after it locks, so a role caught between the state load
// and the lock probe shows a word that moved and is not taken for dead.
// A system call: waiting paths only.
func (r *Ring) abandoned(state, epoch *atomic.Uint32, attached uint32, lockByte int64) (st uint32, dead bool, err error) {
	st, ep := state.Load(), epoch.Load()
	if st&attached == 0 {
		return st, false, nil
	}
	alive, err := r.heldAt(lockByte)
	if err != nil || alive {
		return st, false, err
	}
	return st, state.Load() == st && epoch.Load() == ep, nil
}
