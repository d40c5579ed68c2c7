package ring

// Waiting (the loop is package internal/wait's): what every kind's wait
// shares, and an SPSC side's: a producer waits for the consumer's cursor to
// free a slot, a consumer for the producer's cursor.

import (
	"context"
	"errors"

	"github.com/shmring/shmring/internal/wait"
	"github.com/shmring/shmring/layout"
)

// waitState is a handle's own part of waiting: the adaptive spin's
// estimate, and the operands of the wait in progress (one at a time).
type waitState struct {
	est       wait.Estimate
	need      uint64     // SPSC: the peer cursor awaited
	floor     uint64     // SPSC: the peer cursor last seen, below which it never goes
	pos       uint64     // SPSC: the peer cursor seen; MPMC: the attempt's position
	err       error      // MPMC: the attempt's error
	try       mpmcWaiter // MPMC: the attempt and the probe
	notReady  error      // MPMC: the attempt's "wait on" error (ErrFull, ErrEmpty)
	polls     wait.Polls // the Try calls' probes of the peers
	foundDead bool       // the last probe said ErrPeerDead (noteProbe)
}

// After a report of ErrPeerDead the handle's calls say it again at once,
// until a new process takes the dead one's role (ErrPeerDead's promise),
// not once a tick with ErrEmpty (ErrFull) between: while foundDead holds,
// a Try call that finds the ring empty (full) probes on every such failure,
// not only when wait.Polls says a probe is due (each site tests foundDead
// before Due, which stays inlined: a failed poll is a hot loop's), and a
// blocking call probes before it waits (run). A probe is system calls (one
// per entry of the side it judges): only a handle whose peer is dead pays
// them on every failed try.

// newTick: the handle's wait strategy changed (SetWait), so the Try
// calls' next due probe, reckoned with the old Tick, is forgotten: an
// hour's Tick set once would otherwise keep them from probing for an hour
// after a second's was set.
func (s *waitState) newTick() { s.polls = wait.Polls{} }

// noteProbe records what a probe said, and returns it: ErrPeerDead sets
// foundDead, anything else (a live holder, or what the dead one published
// still to take) clears it.
func (s *waitState) noteProbe(err error) error {
	s.foundDead = errors.Is(err, ErrPeerDead)
	return err
}

// run is every blocking call's wait: l.Run for w, stuck at position at.
// While the peer was found dead it probes first, so that the call says so
// before it spins or looks at its context. A wait that ends in ErrPeerDead
// sets foundDead. A wait that its context ends counts as a failed Try call
// at at (wait.Polls), and probes when that makes a probe due: the wait's
// own probe comes a Tick into one wait, so a caller that waits in slices
// shorter than that (a deadline of a millisecond, or a context already
// done) would otherwise never hear of the death.
func (s *waitState) run(ctx context.Context, r *Ring, l *wait.Loop, w wait.Waiter, at uint64) error {
	if s.foundDead {
		if err := s.noteProbe(r.tryProbe(w)); err != nil {
			return err
		}
	}
	err := l.Run(ctx, w)
	switch {
	case errors.Is(err, ErrPeerDead):
		s.foundDead = true
	case err != nil && ctx.Err() != nil && err == context.Cause(ctx) && s.polls.Due(l.Config, at):
		if perr := s.noteProbe(r.tryProbe(w)); perr != nil {
			return perr
		}
	}
	return err
}

// waitHost is a handle's host for the wait loop: the ring's count of
// waiters, and the handle's counters, stored in the file (counters.go)
// before each futex sleep, so an idle handle's figures are current while
// it sleeps, and as it leaves the sleeping phase, with the sleeps it
// counted. A wait that ends while it spins (every receive of a spinning
// ping-pong) stores nothing. Each handle keeps its own, and the loop
// takes a pointer to it, so making the interface value does not allocate.
// One with no counters (ctr nil) only counts the waiter.
type waitHost struct {
	r   *Ring
	ctr *counters
	st  *Stats
}

func (h *waitHost) Enter() error { return h.r.enterWait() }

// Leave stores the counters before it counts the waiter out: Ring.Close
// waits for the count to fall before it closes the handle, whose Close
// stores them too. The count falls even when the store faults (a wait
// that ends on a shrunk file leaves by the fault guard's panic), or
// Close would sit out its whole wait for a waiter long gone.
func (h *waitHost) Leave() {
	defer h.r.leaveWait()
	if h.ctr != nil {
		h.ctr.flush(h.st)
	}
}

func (h *waitHost) Sleeping(at int) {
	if h.ctr != nil {
		h.ctr.flush(h.st)
	}
	atStep(step(at))
}

// Each kind's Waiter.Stopped starts with r.interrupted: the ring closing
// or shrunk ends every wait, and the spin phase makes no other call.

// await blocks until the other side's cursor reaches need and returns it
// (unvalidated: the caller bounds-checks it), waiting as e.wait says. A
// consumer gets ErrClosed when the producer closed the stream short of
// need; either side gets ErrPeerDead when the other's holder died, and
// ErrCorrupt when the cursor went back below floor, its value when last
// adopted (the probe looks: a cursor moved back by a scribbling process
// would otherwise keep the wait short of need for ever). A side
// sleeps on the other side's wake word, announced in its own sleepers flag;
// a peer that publishes with release stores (FlagReleaseStores) needs the
// barrier.
func (e *endpoint) await(ctx context.Context, need, floor uint64) (uint64, error) {
	at := stepSleepingEmpty
	if e.role == producerRole {
		at = stepSleepingFull
	}
	e.waiting.need, e.waiting.floor = need, floor
	l := wait.Loop{
		Host:     &e.host,
		Config:   e.wait.config(),
		Estimate: &e.waiting.est,
		Sleeps:   &e.stats.Sleeps,
		Sleepers: wait.Sleepers{Word: e.own.sleepers, Wake: e.peer.wake, Mode: wait.Flag},
		Barrier:  wait.BarrierIfFlagged,
		Flags:    e.peer.flags,
		At:       int(at),
	}
	if err := e.waiting.run(ctx, e.r, &l, spscWait{e}, need); err != nil {
		return 0, err
	}
	return e.waiting.pos, nil
}

// spscWait is an SPSC side's waiter.
type spscWait struct{ e *endpoint }

func (w spscWait) Ready() bool {
	v := w.e.peer.cursor.Load()
	w.e.waiting.pos = v
	return v >= w.e.waiting.need
}

// Spun: a consumer spinning for the next message looks at its slot's seq,
// which the producer stores after its cursor (LAYOUT.md section 8: a
// producer MUST), and leaves the producer's cursor line alone, so the
// producer's next cursor store finds the line its own and the seq store
// behind it is not held up: a round trip moves the slot's line and little
// else. A producer, and a record ring's consumer, have no such word: they
// look as Ready does.
func (w spscWait) Spun() bool {
	e := w.e
	if !e.bySeq {
		return w.Ready()
	}
	if e.seq32(e.waiting.need-1).Load() != uint32(e.waiting.need) {
		return false
	}
	e.waiting.pos = e.waiting.need
	return true
}

func (w spscWait) Stopped() error {
	if err := w.e.r.interrupted(); err != nil {
		return err
	}
	return w.e.closedShort(w.e.waiting.need)
}

// Probe says ErrPeerDead only once the cursor is short of need after the
// peer was found dead: what it published before it died is taken first.
// A cursor below floor is ErrCorrupt: cursors only grow.
func (w spscWait) Probe() error {
	if err := w.e.peerDead(); err != nil && (!errors.Is(err, ErrPeerDead) || !w.Ready()) {
		return err
	}
	if v := w.e.peer.cursor.Load(); v < w.e.waiting.floor {
		return w.e.r.corrupt("%v cursor=%d went back below %d, its value when last seen", w.e.peerRole(), v, w.e.waiting.floor)
	}
	return nil
}

// polled ends a Try call that found the ring empty (consumer) or full
// (producer) short of need: fail, or ErrPeerDead (ErrCorrupt) when a probe
// is due (wait.Polls) and finds the other side's holder dead (its cursor
// below floor: await).
func (e *endpoint) polled(fail error, need, floor uint64) error {
	if !e.waiting.foundDead && !e.waiting.polls.Due(e.wait.config(), need) {
		return fail
	}
	e.waiting.need, e.waiting.floor = need, floor
	if err := e.waiting.noteProbe(e.r.tryProbe(spscWait{e})); err != nil {
		return err
	}
	return fail
}

// closedShort: for a consumer, the producer closed the stream and its
// cursor stays short of need. State is loaded before the cursor: the
// producer stores its last cursor before its closed state.
func (e *endpoint) closedShort(need uint64) error {
	if e.role != consumerRole {
		return nil
	}
	st := e.peer.state.Load()
	if st&^layout.StateMask != 0 {
		return e.r.corrupt("producer state=%#x", st)
	}
	if st&layout.StateClosed == 0 {
		return nil
	}
	if e.peer.cursor.Load() >= need {
		return nil
	}
	return ErrClosed
}

// wakePeer wakes the other side, asleep on this side's wake word: called
// after a publishing store.
func (e *endpoint) wakePeer() {
	if (wait.Sleepers{Word: e.peer.sleepers, Wake: e.own.wake}).WakeAll() {
		e.stats.Wakes++
		e.ctr.flush(&e.stats)
	}
}
