package ring

import (
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// counters is a role's counter block in the ring file (layout's
// counters.go, LAYOUT.md section 16): the handle's Stats, stored off the
// per-message path on a unit only this handle writes, so that any process
// (ringctl, a Prometheus exporter) reads them without taking a role.
//
// An engine adopts it in four steps:
//
//   - start, once it holds its role: which block, and the role's epoch or
//     incarnation for the block's Owner word. The block restarts at zero.
//     Its wait loops take a waitHost over the counters (wait.go).
//   - tick, after it counts messages into its Stats on the per-message
//     path: two comparisons, and a flush every layout.FlushEvery messages
//     or flushBytes of payload, whichever comes first.
//     A side whose positions are consecutive uses beat.at instead, which
//     samples telemetry in the same comparison.
//   - flush, on its rare slow paths: a lap, a wake, a repair. Its wait
//     loop's host (waitHost, wait.go) flushes before each futex sleep and
//     as a wait that slept ends; full and empty findings, which a spinning
//     handle makes on every message, wait for the next flush.
//   - flush before it lets go of the role, and from Stats (flushStats).
//
// The zero counters (no block) ignores every call.
type counters struct {
	w       *[layout.CounterWords]atomic.Uint64
	release bool   // plain release stores (fence.Store64); else exchanges
	seq     uint64 // the block's seqlock word as this handle last stored it
	due     uint64 // Stats.Messages at which tick flushes next
	dueB    uint64 // Stats.Bytes at which tick flushes next
	last    [len(layout.CounterNames)]uint64
}

// counterBase is the word index of the first counter (Messages).
const counterBase = layout.CounterMessagesOffset / 8

// flushBytes bounds, beside layout.FlushEvery, how much payload a streaming
// holder's stored Bytes may trail its Stats: 64 messages are nothing for
// small ones, but 64 video frames at 30 a second would leave tools (ringctl
// stat, ringprom) two seconds behind. A flush costs a few stores, nothing
// next to copying a MiB. LAYOUT.md 16.2 lets a holder store more often.
const flushBytes = 1 << 20

// start takes block i of r's counter area for a new holder: zeroed, owned.
// release says whether the handle may use plain release stores.
func (c *counters) start(r *Ring, i, epoch uint32, release bool) {
	*c = counters{
		w:       (*[layout.CounterWords]atomic.Uint64)(unsafe.Pointer(&r.mem[r.hdr.CounterBlockOffset(i)])),
		release: release,
		due:     layout.FlushEvery,
		dueB:    flushBytes,
	}
	// Whatever a dead or hostile holder left is overwritten; the seqlock
	// goes on from an even value above the one found, so a reader that
	// copied the old block sees it change.
	c.seq = c.w[0].Load()&^1 + 2
	c.store(0, c.seq-1)
	for i := 2; i < layout.CounterWords; i++ {
		c.store(i, 0)
	}
	c.store(1, layout.CounterOwner(pid, epoch))
	c.store(0, c.seq)
}

func (c *counters) store(i int, v uint64) { fence.Store64(&c.w[i], v, c.release) }

// tick flushes when layout.FlushEvery messages or flushBytes of payload
// passed since the last flush.
func (c *counters) tick(s *Stats) {
	if s.Messages >= c.due || s.Bytes >= c.dueB {
		c.flush(s)
	}
}

// flush stores the counters that changed since the last flush, inside the
// block's seqlock.
//
// SYNC POINT: counter seq. Odd before the counters, even after; a reader
// loads it before and after copying them.
func (c *counters) flush(s *Stats) {
	if c.w == nil {
		return
	}
	c.due, c.dueB = s.Messages+layout.FlushEvery, s.Bytes+flushBytes
	now := s.words()
	if now == c.last {
		return
	}
	c.store(0, c.seq+1)
	for i, v := range now {
		if v != c.last[i] {
			c.store(counterBase+i, v)
		}
	}
	c.seq += 2
	c.store(0, c.seq)
	c.last = now
}

// words are the counters in the block's order (layout.CounterNames).
func (s *Stats) words() [len(layout.CounterNames)]uint64 {
	return [...]uint64{s.Messages, s.Bytes, s.Full, s.Empty, s.Sleeps, s.Wakes, s.Skipped, s.Repaired,
		s.Redelivered, s.Lapped, s.Missed, s.Evicted, s.BadEntries}
}

// beat is the per-message hook of a side whose positions are consecutive
// (an SPSC side, a broadcast producer): one comparison per message does
// both telemetry's sampling and the counters' cadence. A position p with
// p&every == 0 takes the slow path, which stamps p (a producer: before the
// store that publishes it) or observes it (a consumer: once it holds it)
// when p is sampled, and stores the counters every layout.FlushEvery
// positions, or more often where that many full slots would pass flushBytes
// (a position's payload is at most the slot size).
type beat struct {
	every uint64
	flush uint64   // positions p with p&flush == 0 store the counters
	st    *stamps  // a producer's
	lat   *latency // a consumer's
	ctr   *counters
	stats *Stats
}

// newBeat makes the hook over a producer's stamps (lat nil) or a
// consumer's histogram (st nil).
func newBeat(r *Ring, st *stamps, lat *latency, ctr *counters, stats *Stats) beat {
	flush := uint64(layout.FlushEvery - 1)
	for flush > 0 && (flush+1)*uint64(r.hdr.SlotSize) > flushBytes {
		flush >>= 1
	}
	every := flush
	if t := r.hdr.Telemetry; t.On && t.Shift < 6 {
		every = min(every, 1<<t.Shift-1)
	}
	return beat{every: every, flush: flush, st: st, lat: lat, ctr: ctr, stats: stats}
}

// at is the hook at position pos, called after pos was counted in Stats.
func (b *beat) at(pos uint64) {
	if pos&b.every == 0 {
		b.slow(pos)
	}
}

func (b *beat) slow(pos uint64) {
	if b.lat != nil {
		b.lat.observe(pos)
	} else {
		b.st.stamp(pos)
	}
	if pos&b.flush == 0 {
		b.ctr.flush(b.stats)
	}
}

// counterFlusher is an engine whose counters live in the file: Stats stores
// them there first, so that tools see the figures Stats returns.
type counterFlusher interface{ flushCounters() }

// flushStats stores e's counters in the file, under the fault guard: a
// fault (a shrunk file, a ring closed meanwhile) is dropped, and Stats
// still returns the handle's figures.
func (r *Ring) flushStats(e any) {
	if f, ok := e.(counterFlusher); ok {
		defer r.endGuardQuiet(beginGuard())
		f.flushCounters()
	}
}
