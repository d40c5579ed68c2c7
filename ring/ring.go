package ring

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/edsrzf/mmap-go"
	"github.com/shmring/shmring/layout"
)

// Ring is a mapped ring file. A Ring is safe for concurrent use by several
// goroutines; the role handles it gives out are not.
type Ring struct {
	_    noCopy
	name string
	path string // "" for a heap ring
	hdr  layout.Header
	mem  []byte    // the whole file, mapped (or a heap buffer)
	mm   mmap.MMap // nil for a heap ring
	f    *os.File  // the ring's own descriptor: probes peers' role locks

	heapMu    sync.Mutex
	heapLocks map[int64]bool // heap rings: the lock bytes held within the process

	mu      sync.Mutex // guards the fields below; never taken on the data path
	handles map[handle]struct{}
	closed  bool
}

// handle is a role handle a Ring gave out and closes with itself.
type handle interface{ Close() error }

// track records a new handle; the caller holds r.mu.
func (r *Ring) track(h handle) {
	if r.handles == nil {
		r.handles = make(map[handle]struct{})
	}
	r.handles[h] = struct{}{}
}

// untrack forgets a closed handle.
func (r *Ring) untrack(h handle) {
	r.mu.Lock()
	delete(r.handles, h)
	r.mu.Unlock()
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Name is the name the ring was created or opened with.
func (r *Ring) Name() string { return r.name }

// Path is the ring's file.
func (r *Ring) Path() string { return r.path }

// Kind is the ring's algorithm.
func (r *Ring) Kind() Kind { return r.hdr.Kind }

// SlotSize is the largest message the ring carries.
func (r *Ring) SlotSize() int { return int(r.hdr.SlotSize) }

// Slots is the ring's capacity in messages.
func (r *Ring) Slots() int { return int(r.hdr.SlotCount) }

// Header is the ring file's validated header.
func (r *Ring) Header() layout.Header { return r.hdr }

// Close closes the role handles taken from r (a producer's close ends the
// stream) and unmaps the ring. The file stays: Remove deletes it. Close is
// idempotent.
func (r *Ring) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	hs := make([]handle, 0, len(r.handles))
	for h := range r.handles {
		hs = append(hs, h)
	}
	r.mu.Unlock()
	var errs []error
	for _, h := range hs {
		errs = append(errs, h.Close())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.mm != nil {
		errs = append(errs, r.mm.Unmap())
		r.mm = nil
	}
	r.mem = nil
	if r.f != nil {
		errs = append(errs, r.f.Close())
	}
	return errors.Join(errs...)
}

// word32 and word64 are the atomically used words of the mapping, at offsets
// that layout defines and align_test checks.
func (r *Ring) word32(off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.mem[off]))
}

func (r *Ring) word64(off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&r.mem[off]))
}

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

func (r *Ring) side(ro role) side {
	if ro == producerRole {
		return side{
			cursor:   r.word64(layout.ProducerCursorOffset),
			wake:     r.word32(layout.ProducerWakeOffset),
			sleepers: r.word32(layout.ProducerSleepersOffset),
			state:    r.word32(layout.ProducerStateOffset),
			epoch:    r.word32(layout.ProducerEpochOffset),
			flags:    r.word32(layout.ProducerFlagsOffset),
			lockByte: layout.ProducerLockByte,
		}
	}
	return side{
		cursor:   r.word64(layout.ConsumerCursorOffset),
		wake:     r.word32(layout.ConsumerWakeOffset),
		sleepers: r.word32(layout.ConsumerSleepersOffset),
		state:    r.word32(layout.ConsumerStateOffset),
		epoch:    r.word32(layout.ConsumerEpochOffset),
		flags:    r.word32(layout.ConsumerFlagsOffset),
		lockByte: layout.ConsumerLockByte,
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

// roleAlive reports whether a live process holds the role. It is a system
// call: waiting paths only.
func (r *Ring) roleAlive(ro role) (bool, error) { return r.heldAt(r.side(ro).lockByte) }

// lockAt takes the liveness lock on byte at of the ring file: an OFD write
// lock, dropped by the kernel when its holder dies. ErrBusy (bare) when a
// live holder has it. Heap rings keep the lock in the process.
func (r *Ring) lockAt(at int64) (roleLock, error) {
	if r.f == nil {
		r.heapMu.Lock()
		defer r.heapMu.Unlock()
		if r.heapLocks[at] {
			return roleLock{}, ErrBusy
		}
		if r.heapLocks == nil {
			r.heapLocks = make(map[int64]bool)
		}
		r.heapLocks[at] = true
		return roleLock{}, nil
	}
	return lockRole(r.f, at)
}

// unlockAt drops a lock lockAt took.
func (r *Ring) unlockAt(at int64, l roleLock) error {
	if r.f == nil {
		r.heapMu.Lock()
		delete(r.heapLocks, at)
		r.heapMu.Unlock()
		return nil
	}
	return l.release()
}

// heldAt reports whether a live holder, this process included, has the
// lock on byte at. A system call: waiting and repair paths only.
func (r *Ring) heldAt(at int64) (bool, error) {
	if r.f == nil {
		r.heapMu.Lock()
		defer r.heapMu.Unlock()
		return r.heapLocks[at], nil
	}
	return roleHeld(r.f, at)
}

func (r *Ring) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: ring=%s: %s", ErrCorrupt, r.name, fmt.Sprintf(format, args...))
}
