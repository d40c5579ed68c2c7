package ring

// Reset: the operator's way back for a ring whose shared state was wrecked
// (LAYOUT.md section 15). Two goroutines on one Producer, which the API forbids
// but cannot stop, can push the SPSC cursor more than a lap past the
// consumer's; a buggy or hostile process can write anything anywhere. Every
// later Producer or Consumer then reports ErrCorrupt, in every process, and
// rightly so: the engine cannot tell which messages are real. Reset does not
// guess. It drops them all and writes the state a new ring starts in, with
// every role's liveness lock held so that nobody is using the ring while it
// does.

import (
	"errors"
	"fmt"

	"github.com/shmring/shmring/layout"
)

// Reset empties the ring and brings its shared state back to one every later
// Producer, Consumer and Reader accepts, in any process. It is named Reset,
// not Repair, because it drops every message the ring holds, published or
// not: it is for a ring whose cursors or slot headers were wrecked (by two
// goroutines sharing one handle, or a process scribbling on the mapping), so
// that taking a role reports ErrCorrupt, and for starting over on purpose.
//
// Reset needs the ring idle: no live process, this one included, may hold any
// role (producer, consumer, MPMC participant, broadcast reader). It takes
// every role's liveness lock itself and keeps them until it is done, so a
// process that tries to take a role meanwhile gets ErrBusy, and Reset never
// writes under a live role holder. If a role is held, Reset changes nothing
// and returns ErrBusy naming the role; close the handles (or end the
// processes) that hold roles, then call it again. A role left by a process
// that died is free, and Reset takes it over.
//
// What it writes, per kind (LAYOUT.md section 15 says it word by word):
//
//   - SPSC: both cursors to one position, the first lap boundary past the
//     larger old cursor (so positions keep growing for tools that watch
//     them; zero if that is beyond 2^62, where only corruption puts a
//     cursor); every slot's seq to the value its previous lap left, which
//     never equals the seq of the position it holds next, so no stale slot
//     is taken for a new message; both roles detached (a consumer then waits
//     for a producer, as on a new ring).
//   - MPMC and MPSC: the Tail and Head hints to the first lap boundary past
//     the larger old one, every slot's control word Free for its next
//     position, every participant entry free, the attached counts zero, the
//     stream open.
//   - Record rings (SPSC, Broadcast): as their kind, with no slot to touch:
//     a record ring's readers read only below the cursor (and, Broadcast,
//     from RecTail, set to zero with the cursor). A broadcast record ring's
//     data area is zeroed, so that no record of the old stream is left for
//     a producer taking over to take for a stopped one's (LAYOUT.md 17.4).
//   - Broadcast: the cursor, every slot's seq and every reader entry back to
//     zero, as Create left them (a reader that starts at Oldest counts a ring
//     back from the cursor, so only a cursor of zero leaves it nothing stale
//     to find), the producer detached.
//
// In every kind the sleepers' words are cleared and every wake word is
// bumped and woken, so nobody sleeps on a stale value. Counters that only
// say how often a role was taken (epochs, incarnations) keep growing.
//
// Reset returns ErrClosed after Close.
func (r *Ring) Reset() (err error) {
	if r.missing() {
		return errNoRing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	defer r.endGuard(&err, beginGuard())
	if err := r.shrunk(); err != nil { // before any lock is taken: a role on a cut file is dead
		return err
	}
	var wipe func()
	switch r.hdr.Kind {
	case SPSC:
		wipe = r.resetSPSC
	case MPMC, MPSC:
		wipe = r.resetMPMC
	case Broadcast:
		wipe = r.resetBroadcast
	default: // Open and Create admit no other kind; a future one must say how it resets
		return fmt.Errorf("%w: ring=%s: reset not supported for kind %v", ErrInvalid, r.name, r.hdr.Kind)
	}
	held, err := r.lockEveryRole()
	if err != nil {
		return err
	}
	wipe()
	return r.unlockRoles(held)
}

// Reset opens the named ring, resets it (Ring.Reset) and closes it: the
// whole repair for an operator whose processes are stopped.
func Reset(name string) error {
	r, err := Open(name)
	if err != nil {
		return err
	}
	return errors.Join(r.Reset(), r.Close())
}

// roleSite is one role's liveness lock byte, named for an error.
type roleSite struct {
	at   int64
	name string
}

// roleSites lists the lock byte of every role the ring's kind has.
func (r *Ring) roleSites() []roleSite {
	switch r.hdr.Kind {
	case MPMC, MPSC:
		maxP, maxC := r.hdr.MaxProducers, r.hdr.MaxConsumers
		s := make([]roleSite, 0, maxP+maxC)
		for i := range maxP + maxC {
			name := fmt.Sprintf("producer entry=%d", i)
			if i >= maxP {
				name = fmt.Sprintf("consumer entry=%d", i-maxP)
			}
			s = append(s, roleSite{entryLockByte(i), name})
		}
		return s
	case Broadcast:
		s := []roleSite{{layout.BcastProducerLockByte, "producer"}}
		for i := range r.hdr.MaxConsumers {
			s = append(s, roleSite{r.readerEntry(i).lockByte, fmt.Sprintf("reader entry=%d", i)})
		}
		return s
	}
	return []roleSite{{layout.ProducerLockByte, "producer"}, {layout.ConsumerLockByte, "consumer"}}
}

// lockEveryRole takes the liveness lock of every role, or none: ErrBusy
// naming the first role a live process holds.
func (r *Ring) lockEveryRole() ([]heldLock, error) {
	sites := r.roleSites()
	held := make([]heldLock, 0, len(sites))
	for _, s := range sites {
		l, err := r.lockAt(s.at)
		if err != nil {
			r.unlockRoles(held)
			if errors.Is(err, ErrBusy) {
				return nil, fmt.Errorf("%w: ring=%s role=%s: reset needs every role free", ErrBusy, r.name, s.name)
			}
			return nil, err
		}
		held = append(held, heldLock{at: s.at, l: l})
	}
	return held, nil
}

func (r *Ring) unlockRoles(held []heldLock) error {
	var errs []error
	for i := range held {
		errs = append(errs, held[i].unlock(r))
	}
	return errors.Join(errs...)
}

// resetPositionLimit bounds where reset cursors continue: past it (only a
// wrecked or hostile value gets there; a ring moving 10^9 messages a second
// takes 146 years) Reset starts over at zero rather than near wrap-around.
const resetPositionLimit = 1 << 62

// resetPosition is the first lap boundary past every old cursor, or zero
// when they are beyond resetPositionLimit.
func resetPosition(slots uint64, cursors ...uint64) uint64 {
	top := uint64(0)
	for _, c := range cursors {
		top = max(top, c)
	}
	if top >= resetPositionLimit {
		return 0
	}
	return top&^(slots-1) + slots
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// resetSPSC: slot i next holds position p+i, whose seq is uint32(p+i+1);
// it gets uint32(p+i+1-slots), the seq a correct producer leaves one lap
// earlier, which differs because slots < 2^32.
func (r *Ring) resetSPSC() {
	n := r.hdr.SlotCount
	pr, co := r.side(producerRole), r.side(consumerRole)
	p, g := resetPosition(n, pr.cursor.Load(), co.cursor.Load()), r.slotArea()
	for i := range n * b2u(!r.hdr.Records) { // a record ring's consumer reads only below the cursor
		g.length(i).Store(0)
		g.seq32(i).Store(uint32(p + i + 1 - n))
	}
	pr.cursor.Store(p)
	co.cursor.Store(p)
	for _, s := range []side{pr, co} {
		s.state.Store(0)
		s.flags.Store(0)
		s.sleepers.Store(0)
		nudge(s.wake)
	}
}

// resetMPMC: slot i is Free for position p+i, the slot's next position
// with both hints at p.
func (r *Ring) resetMPMC() {
	n := r.hdr.SlotCount
	tail, head := r.word64(layout.MPMCTailOffset), r.word64(layout.MPMCHeadOffset)
	p, g := resetPosition(n, tail.Load(), head.Load()), r.slotArea()
	for i := range n {
		g.length(i).Store(0)
		g.seq(i).Store(layout.Ctrl(p+i, layout.SlotFree, 0))
	}
	tail.Store(p)
	head.Store(p)
	for i := range r.hdr.MaxProducers + r.hdr.MaxConsumers {
		off := int(layout.MPMCEntryOffset(i))
		r.word32(off + layout.EntryStateOffset).Store(layout.EntryFree)
		r.word32(off + layout.EntryPIDOffset).Store(0)
		r.word32(off + layout.EntryFlagsOffset).Store(0)
		r.word64(off + layout.EntryMessagesOffset).Store(0)
		r.word64(off + layout.EntryRepairedOffset).Store(0)
	}
	r.word64(layout.MPMCProducersOffset).Store(layout.ProducerWord(0, 0)) // the count and the stream, one word (mpmc_count.go)
	r.word32(layout.MPMCConsumersOffset).Store(0)
	for _, w := range []struct{ sleepers, wake int }{
		{layout.MPMCDataSleepersOffset, layout.MPMCDataWakeOffset},
		{layout.MPMCSpaceSleepersOffset, layout.MPMCSpaceWakeOffset},
	} {
		s := r.word32(w.sleepers)
		s.Store(layout.NextSleepersEpoch(s.Load())) // a new epoch: nobody withdraws from it
		nudge(r.word32(w.wake))
	}
}

// resetBroadcast: everything back to what Create wrote, but the epoch and
// the entries' incarnations.
func (r *Ring) resetBroadcast() {
	g := r.slotArea()
	for i := range g.slots * b2u(!r.hdr.Records) {
		g.seq(i).Store(0)
		g.length(i).Store(0)
	}
	if r.hdr.Records { // nothing retained: readers start at the tail, which is the cursor
		r.recTailWord().Store(0)
		r.recSeqWord().Store(0)
		// The records of the stream before, numbered from zero as the new
		// one is, must not be there for the resume rule to take for a
		// stopped producer's (recArea.resumeSeq, LAYOUT.md 17.7).
		a := r.recArea()
		a.wipe()
	}
	w := r.bcastWords()
	w.cursor.Store(0)
	w.gate.Store(0)
	w.state.Store(0)
	w.flags.Store(0)
	for i := range r.hdr.MaxConsumers {
		e := r.readerEntry(i)
		e.cursor.Store(0)
		e.state.Store(layout.ReaderFree)
		e.policy.Store(0)
		e.pid.Store(0)
		e.received.Store(0)
		e.missed.Store(0)
	}
	w.sleepers.Store(0)
	w.gateSleepers.Store(0)
	nudge(w.wake)
	nudge(w.gateWake)
}
