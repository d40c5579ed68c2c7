package ring

// The SPSC engine (LAYOUT.md sections 7-11): one producer, one consumer,
// each a process-local handle on its side's words.
//
// Invariants:
//   - Each side's cursor only grows, and only its own side stores it: the
//     producer has published every position below its cursor, the
//     consumer has released every position below its own. A position p
//     lives in slot p&mask.
//   - consumer cursor <= producer cursor <= consumer cursor + slots: the
//     producer writes a slot only once the consumer released the lap
//     before, the consumer reads only what was published. Each side checks
//     this against the other's cursor whenever it loads it (once per
//     refill of its cache, never per message); anything else is
//     ErrCorrupt.
//   - Each side caches the other's cursor (limit, avail) and touches the
//     other's line only when the cached value runs out.
//   - A slot's length and payload are written before the store that
//     publishes it (the cursor, then the slot's seq), and read only after a
//     load that saw that store; the slot's seq, equal to uint32(p+1), says
//     p is published without a look at the producer's line.
//   - A sleeper announces itself in its own sleepers word, then re-checks
//     the other side's cursor; a publisher stores its cursor, then looks at
//     the other side's sleepers word (the Dekker pair of endpoint.publish).

import (
	"errors"
	"fmt"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// endpoint is what the SPSC producer and consumer share: the slots, this
// side's and the other side's words, the wait strategy, and counters.
type endpoint struct {
	_ noCopy
	slotArea
	r    *Ring
	role role
	own  side
	peer side
	// release: this side publishes its cursor with a plain release store
	// now, and its flags word says so (FlagReleaseStores); canRelease: it
	// may (the process is a membarrier target). calm counts the publishes
	// since one last found the other side asleep (fencemode.go).
	release    bool
	canRelease bool
	calm       uint32
	wait       WaitStrategy
	waiting    waitState // the adaptive spin's estimate; the wait in progress (wait.go)
	stats      Stats
	ctr        counters // stats in the file (counters.go)
	host       waitHost // the wait loop's host, which stores ctr when the wait sleeps
	lat        latency  // producer: its stamps; consumer: its histogram too (telemetry.go)
	beat       beat     // the per-message hook of telemetry and the counters (counters.go)
	lock       roleLock
	closed     bool
	// published, tookLen: the consuming call in progress (Recv, Release)
	// has stored its cursor, consuming a message of tookLen bytes (Recv).
	// A fault after that store (the Ring's Close unmapped the ring under
	// the wake-up that follows) must not undo the call's answer
	// (Consumer.endGuardConsumed).
	published bool
	tookLen   int
	// sent: the messages the producer's cursor stores have published,
	// counted right after the store, before the wake-up that may fault
	// (Producer.endGuardSent).
	sent uint64
	// bySeq: a slot ring's consumer, which may learn that a position is
	// published from its slot's seq word (spscWait.Spun); a record ring
	// has none.
	bySeq bool
}

// attach takes ro's role on r, fills in e and announces it, and returns
// the two cursors, checked: consumer <= producer <= consumer + slots.
//
// Announcing publishes that a live process holds the role. The lock is
// already held, so a peer that sees StateAttached and probes the lock finds
// it taken for as long as this process lives.
func (e *endpoint) attach(r *Ring, ro role) (prod, cons uint64, err error) {
	lock, err := r.lockRole(ro)
	if err != nil {
		return 0, 0, err
	}
	peer := consumerRole
	if ro == consumerRole {
		peer = producerRole
	}
	*e = endpoint{
		slotArea: r.slotArea(),
		r:        r,
		role:     ro,
		own:      r.side(ro),
		peer:     r.side(peer),
		release:  r.releaseStores(),
		wait:     DefaultWait,
		lock:     lock,
	}
	e.canRelease = e.release
	prod, cons = r.side(producerRole).cursor.Load(), r.side(consumerRole).cursor.Load()
	if cons > prod || prod-cons > e.slots {
		r.unlockRole(ro, lock)
		return 0, 0, r.corrupt("producer cursor=%d consumer cursor=%d slots=%d", prod, cons, e.slots)
	}
	flags := uint32(0)
	if e.release {
		flags = layout.FlagReleaseStores
	}
	e.own.flags.Store(flags)
	epoch := e.own.epoch.Add(1)
	e.ctr.start(r, uint32(ro), epoch, e.canRelease)
	e.host = waitHost{r: r, ctr: &e.ctr, st: &e.stats}
	if ro == consumerRole {
		e.lat.startLatency(r, 0, epoch, e.canRelease)
		e.beat = newBeat(r, nil, &e.lat, &e.ctr, &e.stats)
	} else {
		e.lat.stamps.start(r, e.canRelease)
		e.beat = newBeat(r, &e.lat.stamps, nil, &e.ctr, &e.stats)
	}
	e.own.state.Store(layout.StateAttached) // a new producer also reopens a closed stream
	return prod, cons, nil
}

// detach marks the role free and drops its lock; state is what the role
// leaves behind (StateClosed for a producer: end of stream).
func (e *endpoint) detach(state uint32) (err error) {
	e.ctr.flush(&e.stats)
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

// publish stores this side's cursor and wakes the other side if it sleeps.
//
// SYNC POINT: cursor. The slot writes (producer) or reads (consumer) before
// this store are ordered before it; the other side loads the cursor, then
// touches the slots below it.
//
// Dekker pair: "store cursor, then load peer sleeping flag" here against
// "set sleeping, then load cursor" in sleep. With a release store the
// StoreLoad order comes from the sleeper's fence.Barrier; which store this
// side uses follows how often the other side sleeps (fencemode.go).
//
// sent is what endpoint.sent becomes once v is stored: the producer's
// count of messages published; a consumer passes its cursor.
func (e *endpoint) publish(v, sent uint64) {
	fence.Store64(e.own.cursor, v, e.release)
	e.published, e.sent = true, sent
	if e.role == consumerRole {
		atStep(stepAfterRelease)
	} else {
		atStep(stepAfterPublish)
	}
	if e.peer.sleepers.Load() != 0 {
		e.wakePeer()
		e.peerSlept()
	} else if !e.release && e.canRelease {
		e.peerAwake()
	}
}

// peerDead returns ErrPeerDead when the other role is marked attached but no
// live process holds its lock, and ErrCorrupt for state no peer writes.
func (e *endpoint) peerDead() error {
	st, dead, err := e.r.abandoned(e.peer.state, e.peer.epoch, layout.StateAttached, e.peer.lockByte)
	switch {
	case st&^layout.StateMask != 0:
		return e.r.corrupt("%v state=%#x", e.peerRole(), st)
	case err != nil:
		return err
	case dead:
		return fmt.Errorf("%w: ring=%s %v epoch=%d", ErrPeerDead, e.r.name, e.peerRole(), e.peer.epoch.Load())
	}
	return nil
}

// sentCount is producerEngine.sentCount for the SPSC engines.
func (e *endpoint) sentCount() *uint64 { return &e.sent }

// consumed is consumerEngine.consumed for the SPSC engines.
func (e *endpoint) consumed() (int, bool) { return e.tookLen, e.published }

func (e *endpoint) peerRole() role {
	if e.role == producerRole {
		return consumerRole
	}
	return producerRole
}

// SetWait also forgets when the next Try probe is due: that was reckoned
// with the old Tick.
func (e *endpoint) SetWait(w WaitStrategy) { e.wait = w; e.waiting.newTick() }

func (e *endpoint) Stats() Stats { return e.stats }

func (e *endpoint) flushCounters() {
	if !e.closed {
		e.ctr.flush(&e.stats)
	}
}

// An SPSC side sleeps on the other side's wake word.
func (e *endpoint) interrupt() { nudge(e.peer.wake) }
