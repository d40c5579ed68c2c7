package ring

// Lossless gating: the broadcast producer's view of the reader table.

import (
	"context"
	"time"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/internal/wait"
	"github.com/shmring/shmring/layout"
)

// scan reads the reader table and sets limit: gate is the smallest cursor
// of the attached, lossless, not-known-dead readers (head when there is
// none), and every position below gate+slots may be written.
//
// An entry no correct reader writes (state or policy out of range, a
// cursor beyond the producer's head) is counted in Stats.BadEntries, once
// per entry and incarnation, and ignored: a hostile or broken process
// cannot stall the producer through it.
//
// SYNC POINT: joining. The barrier orders the cursor store that published
// head before the loads of the entries: a reader that registers after
// those loads and then loads the cursor sees head or more, so it knows
// which positions a scan that missed it may let the producer overwrite
// (LAYOUT.md section 14, "Joining").
func (p *bcastProducer) scan() {
	p.fw.Add(1) // a full barrier on every architecture
	gate, gated := p.head, false
	for i := range p.dead {
		e := p.r.readerEntry(uint32(i))
		st := e.state.Load()
		if st == layout.ReaderFree {
			continue
		}
		pol := e.policy.Load()
		inc := e.inc.Load()
		// SYNC POINT: reader cursor. The reader's slot reads are ordered
		// before its store of the cursor; slots below c+slots are free.
		c := e.cursor.Load()
		if st != layout.ReaderAttached || (pol != layout.PolicyLossy && pol != layout.PolicyLossless) || c > p.head {
			if p.bad[i] != inc+1 {
				p.bad[i] = inc + 1
				p.stats.BadEntries++
			}
			continue
		}
		if pol == layout.PolicyLossy || p.dead[i] == inc+1 {
			continue
		}
		gate, gated = min(gate, c), true
	}
	if p.w.gate.Load() != gate { // the unit is shared with the readers' sleep words: write it only on change
		fence.Store64(p.w.gate, gate, p.release)
	}
	p.limit, p.gated = gate+p.g.slots, gated
}

// roomy reports whether the claim being made fits below limit: the slot
// at head, or a record ring's reach more bytes after it.
func (p *bcastProducer) roomy() bool { return p.head+p.reach < p.limit }

// probe stops waiting for lossless readers that hold the producer back and
// whose liveness lock no live process holds. A system call per such
// reader: waiting paths only.
func (p *bcastProducer) probe() error {
	for i := range p.dead {
		e := p.r.readerEntry(uint32(i))
		if e.state.Load() != layout.ReaderAttached || e.policy.Load() != layout.PolicyLossless {
			continue
		}
		inc := e.inc.Load()
		if p.dead[i] == inc+1 || e.cursor.Load()+p.g.slots > p.head+p.reach {
			continue
		}
		alive, err := p.r.heldAt(e.lockByte)
		if err != nil {
			return err
		}
		// A reader taking the entry over after the probe bumps the
		// incarnation before it stores the entry attached, and one closing
		// stores ReaderFree before it unlocks: then the entry is not
		// marked. The state is loaded before the incarnation, the reverse
		// of the newcomer's stores, so that its attached state comes with
		// its incarnation (the other order could mark a newcomer that did
		// both between the two loads).
		if !alive && e.state.Load() == layout.ReaderAttached && e.inc.Load() == inc {
			p.dead[i] = inc + 1
			p.stats.Evicted++
		}
	}
	return nil
}

// tryReserve makes a slot free at head without waiting: ErrFull when the
// slowest lossless reader is a whole ring behind. Once a tick it probes
// the liveness of the readers that hold it back. It reads the clock on
// every failure, not as wait.Polls spaces it out: its scan of every
// reader's line costs more, and a TrySend polled slowly hears of a dead
// reader on the first failure a tick after the last probe.
func (p *bcastProducer) tryReserve() error {
	if p.closed {
		return ErrClosed
	}
	p.scan()
	if p.roomy() {
		return nil
	}
	if now := time.Now(); now.After(p.nextProbe) {
		p.nextProbe = now.Add(p.wait.config().Period())
		if err := p.r.tryProbe(gateWait{p}); err != nil {
			return err
		}
		if p.scan(); p.roomy() {
			return nil
		}
	}
	p.stats.Full++
	return ErrFull
}

// reserve makes at least one slot free at head, waiting as the wait
// strategy says. The producer sleeps on GateWake, announced in the
// GateSleepers flag; a lossless reader stores its cursor, then wakes it if
// the flag is set. Readers may publish with release stores, so the
// producer always forces the barrier. A producer that finds room on its
// re-check leaves the flag set: a reader clears it, at the cost of a wake.
func (p *bcastProducer) reserve(ctx context.Context) error {
	if p.closed {
		return ErrClosed
	}
	if p.scan(); p.roomy() {
		return nil
	}
	p.stats.Full++
	l := wait.Loop{
		Host:       &p.host,
		Config:     p.wait.config(),
		Estimate:   &p.waiting.est,
		Sleeps:     &p.stats.Sleeps,
		Sleepers:   wait.Sleepers{Word: p.w.gateSleepers, Wake: p.w.gateWake, Mode: wait.Shared},
		Barrier:    wait.BarrierAlways,
		At:         int(stepSleepingFull),
		Every:      31, // a scan reads every reader's line: one in 32 spin polls
		ProbeFirst: true,
	}
	return l.Run(ctx, gateWait{p})
}

// gateWait is the lossless producer's waiter at the gate.
type gateWait struct{ p *bcastProducer }

func (w gateWait) Ready() bool {
	w.p.scan()
	return w.p.roomy()
}

func (w gateWait) Stopped() error { return w.p.r.interrupted() }
func (w gateWait) Probe() error   { return w.p.probe() }

// wakeProducer wakes a broadcast producer sleeping at the gate: called
// after a reader's publishing store.
func (rd *Reader) wakeProducer() {
	if (wait.Sleepers{Word: rd.w.gateSleepers, Wake: rd.w.gateWake}).WakeAll() {
		rd.stats.Wakes++
		rd.ctr.flush(&rd.stats)
	}
}
