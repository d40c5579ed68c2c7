package ringstat

import (
	"fmt"

	"github.com/shmring/shmring/layout"
)

// probe reports whether a live process holds the lock on one file byte.
type probe func(at int64) bool

// interpret reads the control area of a ring whose header h was validated
// and fills in s's cursors and roles. It returns a sentence naming the
// first value no correct peer writes, or "". held answers for each role's
// lock byte.
//
// Each kind's reader loads the consumers' words before the producer's:
// the producer's cursor only grows and is never behind a consumer's, so
// read in that order a correct ring satisfies consumer <= producer even
// while both move. The bound on the other side (producer <= consumer +
// slots) can still seem broken by a consumer that moved in between, which
// is why a caller reads a live ring again before it calls it corrupt.
//
// The counter blocks are read before the cursors: a role stores its count
// after it moves its cursor, so read in this order no role shows more
// messages than its cursor has passed (published minus a producer's
// messages never goes below zero). The roles are found first, without
// counters, to know which blocks to read.
//
// The lock probes are made between the two looks, once each: a role is
// dead (attached, and no live lock) only if both looks saw it attached, in
// the same incarnation, around a probe that found no lock. A role taken
// meanwhile (lock, then state) could otherwise show attached after a probe
// made before its lock, and one closed meanwhile (state, then lock)
// attached before a probe made after its lock went: dead, both, while
// alive. Such a role is probed again after the second look, and looked at
// a third time if still unheld (probeAgain).
func interpret(s *Snapshot, h *layout.Header, w words, held probe) string {
	var first Snapshot
	asked := map[int64]bool{}
	interpretControl(&first, h, w, func(at int64) bool { asked[at] = true; return false })
	readCounterArea(&first, h, w)
	live := make(map[int64]bool, len(asked))
	for at := range asked {
		live[at] = held(at)
	}
	problem := interpretControl(s, h, w, func(at int64) bool {
		v, ok := live[at]
		if !ok {
			v = held(at)
		}
		return v
	})
	s.SampleEvery = first.SampleEvery
	var again []int // roles attached between the looks: their locks may postdate the probe
	for i := range s.Roles {
		r := &s.Roles[i]
		j := sameRole(first.Roles, r)
		if j >= 0 {
			took := first.Roles[j]
			r.Counters, r.Latency, r.Problem = took.Counters, took.Latency, or(r.Problem, took.Problem)
			if r.PID == 0 {
				r.PID = took.PID
			}
		} else {
			readRoleCounters(h, w, r) // taken between the two looks: read after its cursor
		}
		if r.Attached && !r.Live && (j < 0 || !first.Roles[j].Attached) {
			again = append(again, i)
		}
	}
	probeAgain(s, h, w, held, again)
	return problem
}

// interpretControl fills in s's cursors and roles from the control area.
func interpretControl(s *Snapshot, h *layout.Header, w words, held probe) string {
	s.Roles = s.Roles[:0]
	problem := ""
	switch h.Kind {
	case layout.KindSPSC:
		problem = interpretSPSC(s, h, w, held)
	case layout.KindMPMC, layout.KindMPSC:
		problem = interpretMPMC(s, h, w, held)
	case layout.KindBroadcast:
		problem = interpretBroadcast(s, h, w, held)
	default:
		return fmt.Sprintf("kind=%d", h.Kind) // Decode lets no other kind through
	}
	if h.Records {
		problem = or(problem, interpretRecords(s, h, w))
	}
	return problem
}

func interpretSPSC(s *Snapshot, h *layout.Header, w words, held probe) string {
	c := w.u64(layout.ConsumerCursorOffset)
	cs, ce := w.u32(layout.ConsumerStateOffset), w.u32(layout.ConsumerEpochOffset)
	p := w.u64(layout.ProducerCursorOffset)
	ps, pe := w.u32(layout.ProducerStateOffset), w.u32(layout.ProducerEpochOffset)
	prod := Role{Role: "producer", Attached: ps&layout.StateAttached != 0, Closed: ps&layout.StateClosed != 0,
		Live: held(layout.ProducerLockByte), lock: layout.ProducerLockByte, Incarnation: pe, Cursor: ptr(p), Counters: map[string]uint64{}}
	cons := Role{Role: "consumer", Attached: cs&layout.StateAttached != 0,
		Live: held(layout.ConsumerLockByte), lock: layout.ConsumerLockByte, Incarnation: ce, Cursor: ptr(c), Counters: map[string]uint64{}}
	s.Published, s.Consumed, s.Closed = p, c, prod.Closed
	if c <= p {
		s.Backlog = p - c
		cons.Lag = ptr(p - c)
	}
	s.Roles = append(s.Roles, prod, cons)
	switch {
	case ps&^layout.StateMask != 0:
		return fmt.Sprintf("producer state=%#x, want bits of %#x", ps, layout.StateMask)
	case cs&^layout.StateAttached != 0:
		return fmt.Sprintf("consumer state=%#x, want 0 or %#x", cs, layout.StateAttached)
	case c > p || p-c > h.SlotCount:
		return fmt.Sprintf("cursors producer=%d consumer=%d, want consumer <= producer <= consumer+%d", p, c, h.SlotCount)
	}
	return ""
}

func interpretMPMC(s *Snapshot, h *layout.Header, w words, held probe) string {
	head := w.u64(layout.MPMCHeadOffset)
	stream := w.u32(layout.MPMCStreamOffset)
	problem := ""
	for i := range h.MaxProducers + h.MaxConsumers {
		off := layout.MPMCEntryOffset(i)
		st := w.u32(off + layout.EntryStateOffset)
		r := Role{Role: "producer", Entry: i, Attached: st == layout.EntryAttached, Left: st == layout.EntryLeft,
			Incarnation: w.u32(off + layout.EntryIncarnationOffset), PID: w.u32(off + layout.EntryPIDOffset),
			Live: held(int64(off + layout.EntryLockByte)), lock: int64(off + layout.EntryLockByte), Counters: map[string]uint64{}}
		if i >= h.MaxProducers {
			r.Role, r.Entry = "consumer", i-h.MaxProducers
		}
		if st > layout.EntryLeft || st == layout.EntryLeft && i < h.MaxProducers { // only consumers leave an entry
			r.Problem = fmt.Sprintf("%s entry %d state=%#x, want 0 or 1 (or 2 for a consumer)", r.Role, r.Entry, st)
			problem = or(problem, r.Problem)
		}
		if r.Attached || r.Left || r.Live || r.Incarnation != 0 || r.Problem != "" {
			s.Roles = append(s.Roles, r)
		}
	}
	tail := w.u64(layout.MPMCTailOffset)
	s.Published, s.Consumed = tail, head
	s.Stream, s.Closed = streamName(stream), stream != 0
	if tail >= head {
		s.Backlog = tail - head
	}
	// Tail and Head are hints that any participant moves forward after the
	// slot at them was taken, so either may trail the real frontier by a
	// participant or so; anything past a lap plus every participant is not
	// a lag but a wrong value.
	slack := h.SlotCount + uint64(h.MaxProducers) + uint64(h.MaxConsumers)
	switch {
	case !layout.ValidStream(stream):
		problem = or(problem, fmt.Sprintf("stream=%d, want 0, 1 or 2", stream))
	case tail > head && tail-head > slack, head > tail && head-tail > slack:
		problem = or(problem, fmt.Sprintf("tail=%d head=%d are more than a lap of %d slots apart", tail, head, h.SlotCount))
	}
	return problem
}

func interpretBroadcast(s *Snapshot, h *layout.Header, w words, held probe) string {
	problem := ""
	var readers []Role
	var cursors []uint64
	for i := range h.MaxConsumers {
		off := layout.BcastReaderOffset(i)
		cur := w.u64(off + layout.ReaderCursorOffset)
		st, pol := w.u32(off+layout.ReaderStateOffset), w.u32(off+layout.ReaderPolicyOffset)
		r := Role{Role: "reader", Entry: i, Attached: st == layout.ReaderAttached,
			Incarnation: w.u32(off + layout.ReaderIncarnationOffset), PID: w.u32(off + layout.ReaderPIDOffset),
			Live: held(int64(off + layout.ReaderLockByte)), lock: int64(off + layout.ReaderLockByte), Policy: policyName(pol), Cursor: ptr(cur),
			Counters: map[string]uint64{"received": w.u64(off + layout.ReaderReceivedOffset)}}
		switch {
		case st > layout.ReaderAttached:
			r.Problem = fmt.Sprintf("reader entry %d state=%#x, want 0 or 1", i, st)
		case pol > layout.PolicyLossless || pol == 0 && r.Attached:
			r.Problem = fmt.Sprintf("reader entry %d policy=%d, want 1 (lossy) or 2 (lossless)", i, pol)
		}
		problem = or(problem, r.Problem)
		if r.Attached || r.Live || r.Incarnation != 0 || r.Problem != "" {
			readers = append(readers, r)
			cursors = append(cursors, cur)
		}
	}
	p := w.u64(layout.BcastCursorOffset)
	ps, pe := w.u32(layout.BcastProducerStateOffset), w.u32(layout.BcastProducerEpochOffset)
	prod := Role{Role: "producer", Attached: ps&layout.StateAttached != 0, Closed: ps&layout.StateClosed != 0,
		Live: held(layout.BcastProducerLockByte), lock: layout.BcastProducerLockByte, Incarnation: pe, Cursor: ptr(p), Counters: map[string]uint64{}}
	s.Published, s.Consumed, s.Closed = p, p, prod.Closed
	switch {
	case p&layout.SeqWriting != 0:
		problem = or(problem, fmt.Sprintf("producer cursor=%#x has bit 63 set", p))
	case ps&^layout.StateMask != 0:
		problem = or(problem, fmt.Sprintf("producer state=%#x, want bits of %#x", ps, layout.StateMask))
	}
	for i := range readers {
		r := &readers[i]
		if cursors[i] > p {
			// Read before the producer's cursor, a correct reader's is never
			// ahead of it.
			r.Problem = or(r.Problem, fmt.Sprintf("reader entry %d cursor=%d is ahead of the producer's %d", r.Entry, cursors[i], p))
			problem = or(problem, r.Problem)
			continue
		}
		// A reader that closed its entry left its cursor behind, and no
		// reader will ever go on from it (the next one starts at Latest or
		// Oldest): a lag there would grow for ever and fire alerts for a
		// reader that has gone. An entry still attached has a lag, its
		// holder live or dead: a reader that died without closing is a
		// crash leftover whose lag is the messages it did not get (a
		// lossless one no longer holds the producer back, which stopped
		// waiting for it), and its state says it died.
		if !r.Attached {
			continue
		}
		r.Lag = ptr(p - cursors[i])
	}
	s.Consumed = readersFloor(p, h.SlotCount, readers)
	s.Backlog = p - s.Consumed
	s.Roles = append(append(s.Roles, prod), readers...)
	return problem
}

// readersFloor is the least cursor of the live attached readers among
// roles (those given a lag: at most p), or p with none, but no lower than
// a ring of capacity (slots, or a record ring's bytes) behind p: what a
// broadcast ring has consumed. A lossy reader lapped further back lost
// what it has not read (its lag says how much); the ring holds no more.
func readersFloor(p, capacity uint64, roles []Role) uint64 {
	floor := p
	for _, r := range roles {
		if r.Role == "reader" && r.Live && r.Lag != nil && *r.Cursor < floor {
			floor = *r.Cursor
		}
	}
	return max(floor, p-min(p, capacity))
}

func policyName(p uint32) string {
	switch p {
	case layout.PolicyLossy:
		return "lossy"
	case layout.PolicyLossless:
		return "lossless"
	case 0:
		return ""
	}
	return fmt.Sprintf("policy(%d)", p)
}

func streamName(s uint32) string {
	switch s {
	case 0:
		return "open"
	case layout.StreamClosed:
		return "closed"
	case layout.StreamPeerDead:
		return "peer-dead"
	}
	return fmt.Sprintf("stream(%d)", s)
}

// or is a if it is set, else b: the first problem found is the one told.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
