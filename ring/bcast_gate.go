package ring

// Lossless gating: the broadcast producer's view of the reader table.

import (
	"context"
	"errors"
	"runtime"
	"time"
	"unsafe"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/fence"
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
	gate := p.head
	for i := range p.dead {
		e := p.r.readerEntry(uint32(i))
		st := e.state.Load()
		if st == layout.ReaderFree {
			continue
		}
		pol := e.policy.Load()
		inc := e.inc.Load()
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
		gate = min(gate, c)
	}
	if p.w.gate.Load() != gate { // the unit is shared with the readers' sleep words: write it only on change
		fence.Store64(p.w.gate, gate, p.release)
	}
	p.limit = gate + p.g.slots
}

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
		if p.dead[i] == inc+1 || e.cursor.Load()+p.g.slots > p.head {
			continue
		}
		alive, err := p.r.heldAt(e.lockByte)
		if err != nil {
			return err
		}
		// A reader taking the entry over after the probe bumps the
		// incarnation first: then the entry is not marked.
		if !alive && e.inc.Load() == inc {
			p.dead[i] = inc + 1
			p.stats.Evicted++
		}
	}
	return nil
}

// tryReserve makes a slot free at head without waiting: ErrFull when the
// slowest lossless reader is a whole ring behind. Once a tick it probes
// the liveness of the readers that hold it back.
func (p *bcastProducer) tryReserve() error {
	if p.closed {
		return ErrClosed
	}
	p.scan()
	if p.head < p.limit {
		return nil
	}
	if now := time.Now(); now.After(p.nextProbe) {
		p.nextProbe = now.Add(p.wait.tick())
		if err := p.probe(); err != nil {
			return err
		}
		if p.scan(); p.head < p.limit {
			return nil
		}
	}
	p.stats.Full++
	return ErrFull
}

// reserve makes at least one slot free at head, waiting as the wait
// strategy says: spin, yield, probe the liveness of the readers that hold
// it back, then sleep (or poll) a tick at a time, probing again after each.
func (p *bcastProducer) reserve(ctx context.Context) error {
	if p.closed {
		return ErrClosed
	}
	if p.scan(); p.head < p.limit {
		return nil
	}
	p.stats.Full++
	done := ctx.Done()
	for i := 0; i < p.wait.Spin; i++ {
		if i&31 == 31 {
			if p.scan(); p.head < p.limit {
				return nil
			}
		}
		if i&255 == 255 {
			if err := p.r.interrupted(); err != nil {
				return err
			}
			if done != nil && ctx.Err() != nil {
				return context.Cause(ctx)
			}
		}
	}
	for i := 0; i < p.wait.Yield; i++ {
		runtime.Gosched()
		if p.scan(); p.head < p.limit {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := p.r.interrupted(); err != nil {
			return err
		}
	}
	if err := p.probe(); err != nil {
		return err
	}
	if err := p.r.enterWait(); err != nil {
		return err
	}
	defer p.r.leaveWait()
	if p.wait.Sleep {
		return p.sleep(ctx)
	}
	return p.poll(ctx)
}

// poll waits without the futex: yields, and a probe once a tick.
func (p *bcastProducer) poll(ctx context.Context) error {
	next := time.Now().Add(p.wait.tick())
	for {
		if p.scan(); p.head < p.limit {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := p.r.interrupted(); err != nil {
			return err
		}
		runtime.Gosched()
		if now := time.Now(); now.After(next) {
			next = now.Add(p.wait.tick())
			if err := p.probe(); err != nil {
				return err
			}
		}
	}
}

// sleep is the futex protocol on the gate (package futex has it as
// pseudo-code), with the producer as the only sleeper:
//
//	w := GateWake; GateSleepers = 1 (swap); barrier; rescan
//	futex_wait(&GateWake, w, tick)
//
// A lossless reader stores its cursor, then, if GateSleepers != 0, swaps it
// to 0, adds one to GateWake and wakes the producer. The barrier
// (membarrier) orders a reader's plain release store of its cursor before
// the rescan; where it is unavailable the sleep is capped at a millisecond.
func (p *bcastProducer) sleep(ctx context.Context) error {
	tick := p.wait.tick()
	deadline, hasDeadline := ctx.Deadline()
	word := (*uint32)(unsafe.Pointer(p.w.gateWake))
	for {
		if p.scan(); p.head < p.limit {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := p.r.interrupted(); err != nil {
			return err
		}
		timeout := tick
		if hasDeadline {
			timeout = min(timeout, time.Until(deadline))
			if timeout <= 0 {
				return expired(ctx)
			}
		}
		w := p.w.gateWake.Load()
		p.w.gateSleepers.Swap(1)
		if fence.Barrier() != nil {
			timeout = min(timeout, time.Millisecond)
		}
		atStep(stepSleepingFull)
		if p.scan(); p.head < p.limit {
			return nil // the flag stays: a reader clears it, at the cost of one wake
		}
		p.stats.Sleeps++
		err := futex.Wait(word, w, timeout)
		if errors.Is(err, futex.ErrTimeout) {
			if err := p.probe(); err != nil {
				return err
			}
			continue
		}
		if err != nil && !errors.Is(err, futex.ErrValueChanged) {
			return err
		}
	}
}
