package ring

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// endpoint is what a Producer and a Consumer share: the ring's geometry in
// process-local copies (trusted, from the validated header), this side's and
// the other side's words, the wait strategy, and counters.
type endpoint struct {
	_     noCopy
	r     *Ring
	role  role
	own   side
	peer  side
	base  unsafe.Pointer // slot 0
	mask  uint64         // slots - 1
	slots uint64
	// stride and slotSize come from the validated header, never re-read.
	stride   uint64
	slotSize uint32
	// release: this side publishes its cursor with a plain release store
	// and has told the other side so (FlagReleaseStores).
	release bool
	// unguarded: the per-message calls run without the fault guard
	// (Options.Unguarded; guard.go).
	unguarded bool
	wait      WaitStrategy
	waiting   waitState // the adaptive spin's estimate; the wait in progress (waitloop.go)
	stats     Stats
	lock      roleLock
	closed    bool
}

// attach takes ro's role on r and fills in e. The caller validates and
// adopts the cursors, then calls announce.
func (e *endpoint) attach(r *Ring, ro role) error {
	lock, err := r.lockRole(ro)
	if err != nil {
		return err
	}
	peer := consumerRole
	if ro == consumerRole {
		peer = producerRole
	}
	*e = endpoint{
		r:         r,
		role:      ro,
		own:       r.side(ro),
		peer:      r.side(peer),
		base:      unsafe.Pointer(&r.mem[r.hdr.SlotsOffset]),
		mask:      r.hdr.SlotCount - 1,
		slots:     r.hdr.SlotCount,
		stride:    r.hdr.SlotStride,
		slotSize:  r.hdr.SlotSize,
		release:   r.releaseStores(),
		unguarded: r.unguarded,
		wait:      DefaultWait,
		lock:      lock,
	}
	return nil
}

// announce publishes that a live process holds the role. The lock is already
// held, so a peer that sees StateAttached and probes the lock finds it taken
// for as long as this process lives.
func (e *endpoint) announce() {
	flags := uint32(0)
	if e.release {
		flags = layout.FlagReleaseStores
	}
	e.own.flags.Store(flags)
	e.own.epoch.Add(1)
	e.own.state.Store(layout.StateAttached) // a new producer also reopens a closed stream
}

// detach marks the role free and drops its lock; state is what the role
// leaves behind (StateClosed for a producer: end of stream).
func (e *endpoint) detach(state uint32) (err error) {
	e.closed = true
	defer func() { err = errors.Join(err, e.r.unlockRole(e.role, e.lock)) }() // even after a fault below
	// SYNC POINT: state. Stored before the sleepers check below; a sleeper
	// announces itself, then re-checks state.
	e.own.state.Swap(state) // full fence: the sleepers load below must not pass it
	if e.peer.sleepers.Load() != 0 {
		e.wakePeer()
	}
	return nil
}

// slot is the address of the slot holding position pos.
func (e *endpoint) slot(pos uint64) unsafe.Pointer {
	return unsafe.Add(e.base, (pos&e.mask)*e.stride)
}

func (e *endpoint) payload(pos uint64, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(e.slot(pos), layout.SlotPayloadOffset)), n)
}

// publish stores this side's cursor and wakes the other side if it sleeps.
//
// SYNC POINT: cursor. The slot writes (producer) or reads (consumer) before
// this store are ordered before it; the other side loads the cursor, then
// touches the slots below it.
//
// Dekker pair: "store cursor, then load peer sleeping flag" here against
// "set sleeping, then load cursor" in sleep. With a release store the
// StoreLoad order comes from the sleeper's fence.Barrier.
func (e *endpoint) publish(v uint64) {
	fence.Store64(e.own.cursor, v, e.release)
	if e.peer.sleepers.Load() != 0 {
		e.wakePeer()
	}
}

// peerDead returns ErrPeerDead when the other role is marked attached but no
// live process holds its lock, and ErrCorrupt for state no peer writes.
func (e *endpoint) peerDead() error {
	st := e.peer.state.Load()
	if st&^layout.StateMask != 0 {
		return e.r.corrupt("%v state=%#x", e.peerRole(), st)
	}
	if st&layout.StateAttached == 0 {
		return nil // nobody holds the role now: a newcomer may still arrive
	}
	alive, err := e.r.roleAlive(e.peerRole())
	if err != nil {
		return err
	}
	if !alive {
		return fmt.Errorf("%w: ring=%s %v epoch=%d", ErrPeerDead, e.r.name, e.peerRole(), e.peer.epoch.Load())
	}
	return nil
}

func (e *endpoint) peerRole() role {
	if e.role == producerRole {
		return consumerRole
	}
	return producerRole
}
