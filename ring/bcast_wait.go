package ring

// A broadcast reader waiting for the producer (the loop is package
// internal/wait's):
// the condition is the slot's seq at q, and the sleepers word a flag all
// readers share: a reader that stops waiting leaves it set, since another
// may still sleep on it, and the producer's next publish clears it.

import (
	"context"
	"errors"
	"fmt"

	"github.com/shmring/shmring/internal/wait"
	"github.com/shmring/shmring/layout"
)

// arrived: the slot at q no longer says "not yet" (published, overrun, or
// garbage: the caller's next look tells which).
func (rd *Reader) arrived() bool {
	if rd.rec != nil { // a record ring: the cursor says (rec_bcast_reader.go)
		return rd.w.cursor.Load() > rd.q
	}
	return rd.g.classify(rd.g.seq(rd.q).Load(), rd.q) != seqPending
}

// await waits until the slot at q is no longer "not yet". The producer
// stores the slot's seq and its cursor, then wakes the readers if the flag
// is set.
func (rd *Reader) await(ctx context.Context) error {
	l := wait.Loop{
		Host:     &rd.host,
		Config:   rd.wait.config(),
		Estimate: &rd.waiting.est,
		Sleeps:   &rd.stats.Sleeps,
		Sleepers: wait.Sleepers{Word: rd.w.sleepers, Wake: rd.w.wake, Mode: wait.Shared},
		Barrier:  wait.BarrierIfFlagged,
		Flags:    rd.w.flags,
		At:       int(stepSleepingEmpty),
	}
	return rd.waiting.run(ctx, rd.r, &l, readerWait{rd}, rd.q)
}

// readerWait is a broadcast reader's waiter.
type readerWait struct{ rd *Reader }

func (w readerWait) Ready() bool { return w.rd.arrived() }

func (w readerWait) Stopped() error {
	if err := w.rd.r.interrupted(); err != nil {
		return err
	}
	return w.rd.closedShort()
}

// Probe says ErrPeerDead only while nothing is published at q after the
// producer was found dead: what it published before it died is read first.
func (w readerWait) Probe() error {
	ep := w.rd.w.epoch.Load() // before the state: streamEnded
	if err := w.rd.producerDead(); err != nil && (!errors.Is(err, ErrPeerDead) || !w.rd.arrived()) {
		return w.rd.streamEnded(err, ep)
	}
	return w.rd.consistent()
}

// closedShort: the producer closed the stream and nothing is published at
// q. State is loaded before the cursor: the producer stores its last cursor
// before its closed state.
func (rd *Reader) closedShort() error {
	ep := rd.w.epoch.Load() // before the state: streamEnded
	st := rd.w.state.Load()
	if st&^layout.StateMask != 0 {
		return rd.r.corrupt("broadcast producer state=%#x", st)
	}
	if st&layout.StateClosed == 0 {
		return nil
	}
	if rd.w.cursor.Load() <= rd.q {
		return rd.streamEnded(ErrClosed, ep)
	}
	return rd.consistent()
}

// consistent: the cursor says q is published, so its seq must say so too
// (the seq is stored first). A slot still "not yet" under a cursor past it
// is a value no producer writes; so are a cursor with the writing mark and
// one the reader is further past than it can be, which would keep a
// waiting record reader waiting for ever. A record reader reads only below
// the cursor; a slot reader goes by each slot's seq, stored before the
// cursor that covers a batch, so it may be up to a ring past it.
func (rd *Reader) consistent() error {
	p := rd.w.cursor.Load()
	ahead := uint64(0)
	if rd.rec == nil {
		ahead = rd.g.slots
	}
	if p&layout.SeqWriting != 0 || p+ahead < rd.q {
		return rd.r.corrupt("broadcast cursor=%#x with the reader at position=%d: cursors only grow, and no reader gets that far past one", p, rd.q)
	}
	if rd.rec != nil {
		return nil // a record ring has no slot seq to disagree with the cursor
	}
	if p > rd.q && p&layout.SeqWriting == 0 && !rd.arrived() {
		return rd.r.corrupt("broadcast cursor=%d but slot seq=%#x at position=%d", p, rd.g.seq(rd.q).Load(), rd.q)
	}
	return nil
}

// producerDead returns ErrPeerDead when the producer is marked attached but
// no live process holds its lock. A system call: after a timed-out sleep.
func (rd *Reader) producerDead() error {
	st, dead, err := rd.r.abandoned(rd.w.state, rd.w.epoch, layout.StateAttached, layout.BcastProducerLockByte)
	switch {
	case st&^layout.StateMask != 0:
		return rd.r.corrupt("broadcast producer state=%#x", st)
	case err != nil:
		return err
	case dead:
		return fmt.Errorf("%w: ring=%s producer epoch=%d", ErrPeerDead, rd.r.name, rd.w.epoch.Load())
	}
	return nil
}

// wakeReaders wakes every sleeping broadcast reader: called after a
// publishing store.
func (p *bcastProducer) wakeReaders() {
	if (wait.Sleepers{Word: p.w.sleepers, Wake: p.w.wake}).WakeAll() {
		p.stats.Wakes++
		p.ctr.flush(&p.stats)
	}
}
