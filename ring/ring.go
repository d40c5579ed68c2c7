package ring

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
)

// Ring is a mapped ring file. A Ring is safe for concurrent use by several
// goroutines; the role handles it gives out are not.
//
// Close a Ring when done with it, and keep it reachable while its handles
// are in use: a Ring (with all its handles) dropped unclosed is collected,
// its descriptor closed, and with it the liveness locks, so that its peers
// and ringctl then take its roles for dead; its mapping is unmapped then
// (as it is, after Close, once the Ring is garbage), so no slice of the
// ring's memory (a message in place, a claimed slot) may outlive the Ring.
type Ring struct {
	_    noCopy
	name string
	hdr  layout.Header
	mem  []byte      // the ring's bytes of seg's memory; never nil once built
	seg  shm.Segment // the mapped file (or heap buffer) mem lies in, and the role locks on it

	// memAddr and memLen are mem's range, for the fault guard (guard.go);
	// endMark is the end unit's mark. All three are set once, by
	// setMapping, before the Ring is shared.
	memAddr, memLen uintptr
	endMark         *atomic.Uint64

	// closing is set first thing by Close; waiters look at it each time
	// round their loops and leave with ErrClosed. waiters counts the
	// goroutines inside a wait loop of one of r's handles: Close wakes
	// them and lets them leave before it closes their handles.
	closing atomic.Bool
	waiters atomic.Int32

	// fullFence: handles publish with full-fence stores and never
	// register this process for membarrier (Options.FullFence).
	fullFence bool
	// unguarded: per-message calls run without the fault guard, and Close
	// leaves the mapping in place until r is garbage (Options.Unguarded).
	unguarded bool

	mu      sync.Mutex // guards the fields below; never taken on the data path
	handles map[handle]struct{}
	closed  bool
}

// handle is a role handle a Ring gave out and closes with itself.
type handle interface {
	Close() error
	// interrupt wakes the handle's goroutine if it sleeps on a futex
	// word, so that it sees the ring closing. It reads only what the
	// handle set when it was made: Close calls it from another goroutine.
	interrupt()
}

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

// Name is the name the ring was created or opened with: for a memfd ring
// its label, and for a ring opened from a descriptor (OpenFile, RecvRing)
// the label or the path of the file behind it.
func (r *Ring) Name() string {
	if r.missing() {
		return ""
	}
	return r.name
}

// Path is the ring's file; "" for a memfd ring, which has none. For a ring
// opened from a descriptor it is what /proc/self/fd says of the file, which
// for a file removed meanwhile is its old path followed by " (deleted)":
// no path to open or Remove.
func (r *Ring) Path() string {
	if r.missing() {
		return ""
	}
	return r.seg.Path()
}

// Kind is the ring's algorithm.
func (r *Ring) Kind() Kind {
	if r.missing() {
		return 0
	}
	return r.hdr.Kind
}

// SlotSize is the largest message the ring carries (on a record ring its
// MaxMessage, as MaxMessage says).
func (r *Ring) SlotSize() int {
	if r.missing() {
		return 0
	}
	return int(r.hdr.SlotSize)
}

// Slots is the ring's capacity in messages. A record ring has no slots: it
// reports the most messages it can hold at once, Capacity/16 empty ones.
func (r *Ring) Slots() int {
	if r.missing() {
		return 0
	}
	if r.hdr.Records {
		return int(r.hdr.SlotCount / layout.RecordAlign)
	}
	return int(r.hdr.SlotCount)
}

// Header is the ring file's validated header.
func (r *Ring) Header() layout.Header {
	if r.missing() {
		return layout.Header{}
	}
	return r.hdr
}

// Close closes the role handles taken from r (a producer's close ends the
// stream) and unmaps the ring. The file stays: Remove deletes it (a memfd
// ring's memory goes with its last descriptor and mapping: memfd.go).
// Close is idempotent.
//
// Close may run while other goroutines are inside calls on r's handles:
// a call blocked waiting returns ErrClosed promptly (Close wakes it and
// waits, at most a second, for it to leave), and a call that was not
// waiting returns ErrClosed if it touches the ring after the unmap, which
// leaves the address range reserved and inaccessible until r is garbage
// (shm.File.Close), so no call can reach other memory through a stale
// pointer. An unguarded ring cannot catch that fault: its file stays mapped
// until r is garbage, and a call racing Close writes into the file.
//
// Close also ends every slice a handle gave out in place (Claim, ClaimN,
// Receive, batches): touching one after Close faults outside any call of
// this package, which ends the process; copy out what must outlive it. And
// Close closes the handles from its own goroutine: a call not blocked in a
// wait, running at the same moment on another goroutine, races it on the
// handle's process-local state. The outcome is ErrClosed, never a panic
// or a hang (a call on a handle whose lease or claim that Close ended says
// ErrClosed too, not the misuse's panic), but the race detector reports
// the race: under it, stop the goroutines that use the handles before
// Close. A publishing call (Send, TrySend, Commit, SendBatch, CommitBatch)
// that is running when Close begins is waited for (at most a second, as
// above) before Close closes its producer and so ends the stream: what it
// says it sent reaches the consumers, and one that starts after Close began
// returns ErrClosed having sent nothing. A call that Close cut after the
// store that did its work says what it did: a send whose messages were
// published returns nil (SendBatch: how many), a receive that consumed its
// message returns it; ErrClosed means not sent, or not taken. A claim a
// cut MPMC or MPSC call leaves unpublished is skipped, never lost in front
// of later messages.
func (r *Ring) Close() error {
	if r.missing() {
		return errNoRing
	}
	// SYNC POINT: closing. Stored before waiters is loaded; a waiter
	// counts itself in waiters, then loads closing. Stored before r.mu is
	// taken, so that a Producer or Consumer call waiting under it for an
	// entry to settle (mpmcHandle.attach) gives up at once.
	r.closing.Store(true)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	hs := make([]handle, 0, len(r.handles))
	for h := range r.handles {
		hs = append(hs, h)
	}
	r.mu.Unlock()
	for _, h := range hs {
		r.interrupt(h)
	}
	deadline := time.Now().Add(closeLimit) // one bound for both waits
	r.awaitWaiters(deadline)
	r.awaitPublishers(hs, deadline) // so that no publish lands after a producer's end of stream
	var errs []error
	for _, h := range hs {
		// A handle of a shrunk ring reports it on its own calls; its
		// Close let go of what it held all the same.
		err := h.Close()
		var found *closedDuringCall
		if err != nil && (errors.As(err, &found) && found.read != "" || !errors.Is(err, ErrClosed) && !errors.Is(err, ErrTruncated)) {
			errs = append(errs, err)
		}
	}
	atStep(stepUnmapping)
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(append(errs, r.seg.Close(r.unguarded))...)
}

// interrupt wakes h's goroutine (handle.interrupt) under the fault guard:
// the wake words are in the mapping, which a peer may have shrunk.
func (r *Ring) interrupt(h handle) {
	defer r.endGuardQuiet(beginGuard())
	h.interrupt()
}

// closeLimit bounds how long Ring.Close waits for the calls running on
// its handles to leave: a woken waiter leaves within a wait tick, a
// publishing call within a copy; one held up longer (a stopped thread) is
// closed under.
const closeLimit = time.Second

// awaitWaiters gives goroutines woken inside a wait loop until deadline
// to leave it. They leave within one wait tick even if a wake was missed.
func (r *Ring) awaitWaiters(deadline time.Time) {
	for r.waiters.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond)
	}
}

// enterWait counts a goroutine into the sleeping (or polling) phase of a
// wait loop of one of r's handles, or reports, uncounted, why it must not
// wait; leaveWait counts it out. Two atomic operations on a process-local
// word: only once a waiter has spun and yielded, never on a streaming
// path. A waiter still spinning reads nothing of its handle that Close
// writes, and sees closing within 256 polls.
func (r *Ring) enterWait() error {
	r.waiters.Add(1) // full fence: the closing load below cannot pass it
	if err := r.interrupted(); err != nil {
		r.waiters.Add(-1)
		return err
	}
	return nil
}

func (r *Ring) leaveWait() { r.waiters.Add(-1) }

// tryProbe runs the probe of the peers that a Try call found due
// (wait.Polls) counted among the waiters, as a waiting call's probe is:
// Ring.Close waits for it before it closes the descriptor the probe's
// fcntl calls use, whose number an unrelated file could otherwise take
// and answer "no holder" for a live peer. The count falls even if the
// probe faults. w is pointer-shaped: no allocation.
func (r *Ring) tryProbe(w interface{ Probe() error }) error {
	if err := r.enterWait(); err != nil {
		return err
	}
	defer r.leaveWait()
	return w.Probe()
}

// interrupted reports why any waiter on r must stop whatever it waits for:
// r was closed, or its file was shrunk.
func (r *Ring) interrupted() error {
	// SYNC POINT: closing. Loaded after enterWait counted the waiter in
	// waiters (a full fence); Close stores closing, then loads waiters.
	if r.closing.Load() {
		return fmt.Errorf("%w: ring=%s was closed", ErrClosed, r.name)
	}
	if !r.intact() {
		return r.errTruncated()
	}
	return nil
}

// word32 and word64 are the atomically used words of the mapping, at offsets
// that layout defines and align_test checks.
func (r *Ring) word32(off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.mem[off]))
}

func (r *Ring) word64(off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&r.mem[off]))
}

// releaseStores reports whether a new handle may publish with plain
// release stores, registering the process for membarrier if so (the
// peers' sleepers then need it: package internal/fence).
func (r *Ring) releaseStores() bool { return !r.fullFence && fence.Register() }

// corrupt reports a value read from the mapping that no correct peer
// writes. The ring stays unusable until the value is gone, which for the
// cursors and control words takes Reset: the error says so.
//
// A call that races the Ring's Close may meet what Close did meanwhile
// (a handle's state reset, a lossless reader's entry freed and the
// producer past it): that is no corruption but the close, and says so.
func (r *Ring) corrupt(format string, args ...any) error {
	if r.closing.Load() {
		return &closedDuringCall{ring: r.name, read: fmt.Sprintf(format, args...)}
	}
	if !r.intact() { // the words of a shrunk file read zero: that is why
		return fmt.Errorf("%w (and so: %s)", r.errTruncated(), fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%w: ring=%s: %s (once no process holds a role, Ring.Reset brings the ring back, dropping its messages)",
		ErrCorrupt, r.name, fmt.Sprintf(format, args...))
}

// errClosedDuringCall is what a call returns that the Ring's Close
// interrupted: a fault on the unmapped memory, or a value Close changed.
func (r *Ring) errClosedDuringCall() error { return &closedDuringCall{ring: r.name} }

// closedDuringCall is ErrClosed for a call the Ring's Close interrupted,
// with what the call read, if anything, once Close had begun. Ring.Close
// drops the ErrClosed of the handles it closes, but not one of these: met
// by its own closing of a handle (an MPMC producer's reaping, say), the
// value was no work of Close's, and the caller of Close hears of it.
type closedDuringCall struct {
	ring string
	read string // what the call found that no correct peer writes, if anything
}

func (e *closedDuringCall) Error() string {
	if e.read == "" {
		return fmt.Sprintf("%v: ring=%s: the Ring's Close began before or during the call", ErrClosed, e.ring)
	}
	return fmt.Sprintf("%v: ring=%s: the Ring's Close began before or during the call, which then read: %s", ErrClosed, e.ring, e.read)
}

// Unwrap makes errors.Is(err, ErrClosed) hold, and so io.EOF and
// os.ErrClosed, as for every ErrClosed.
func (e *closedDuringCall) Unwrap() error { return ErrClosed }
