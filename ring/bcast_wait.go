package ring

// A broadcast reader waiting for the producer: the shape of endpoint.await
// (spin, yield, then a futex sleep of at most a tick, the producer's
// liveness probed only after a sleep that timed out), with the slot's seq
// as the condition instead of the producer's cursor.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// arrived: the slot at q no longer says "not yet" (published, overrun, or
// garbage: the caller's next look tells which).
func (rd *Reader) arrived() bool {
	return rd.g.classify(rd.g.seq(rd.q).Load(), rd.q) != seqPending
}

func (rd *Reader) await(ctx context.Context) error {
	done := ctx.Done()
	for i := 0; i < rd.wait.Spin; i++ {
		if rd.arrived() {
			return nil
		}
		if i&255 == 255 {
			if err := rd.stopped(ctx, done); err != nil {
				return err
			}
		}
	}
	// A reader alone in its process yields its thread to the other
	// processes, not its P to goroutines it does not have (yield_linux.go).
	thread := rd.wait.Yield > 0 && yieldsThread()
	for i := 0; i < rd.wait.Yield; i++ {
		if thread {
			yieldThread()
		} else {
			runtime.Gosched()
		}
		if rd.arrived() {
			return nil
		}
		if err := rd.stopped(ctx, done); err != nil {
			return err
		}
	}
	if err := rd.r.enterWait(); err != nil {
		return err
	}
	defer rd.r.leaveWait()
	if rd.wait.Sleep {
		return rd.sleep(ctx)
	}
	return rd.poll(ctx)
}

func (rd *Reader) stopped(ctx context.Context, done <-chan struct{}) error {
	if done != nil {
		select {
		case <-done:
			return context.Cause(ctx)
		default:
		}
	}
	if err := rd.r.interrupted(); err != nil {
		return err
	}
	return rd.closedShort()
}

// closedShort: the producer closed the stream and nothing is published at
// q. State is loaded before the cursor: the producer stores its last cursor
// before its closed state.
func (rd *Reader) closedShort() error {
	st := rd.w.state.Load()
	if st&^layout.StateMask != 0 {
		return rd.r.corrupt("broadcast producer state=%#x", st)
	}
	if st&layout.StateClosed == 0 {
		return nil
	}
	if rd.w.cursor.Load() <= rd.q {
		return ErrClosed
	}
	return rd.consistent()
}

// consistent: the cursor says q is published, so its seq must say so too
// (the seq is stored first). A slot still "not yet" under a cursor past it
// is a value no producer writes.
func (rd *Reader) consistent() error {
	p := rd.w.cursor.Load()
	if p > rd.q && p&layout.SeqWriting == 0 && !rd.arrived() {
		return rd.r.corrupt("broadcast cursor=%d but slot seq=%#x at position=%d", p, rd.g.seq(rd.q).Load(), rd.q)
	}
	return nil
}

// producerDead returns ErrPeerDead when the producer is marked attached but
// no live process holds its lock. A system call: after a timed-out sleep.
func (rd *Reader) producerDead() error {
	st := rd.w.state.Load()
	if st&^layout.StateMask != 0 {
		return rd.r.corrupt("broadcast producer state=%#x", st)
	}
	if st&layout.StateAttached == 0 {
		return nil
	}
	alive, err := rd.r.heldAt(layout.BcastProducerLockByte)
	if err != nil {
		return err
	}
	if !alive {
		return fmt.Errorf("%w: ring=%s producer epoch=%d", ErrPeerDead, rd.r.name, rd.w.epoch.Load())
	}
	return nil
}

// poll waits without the futex (WaitStrategy.Sleep false): yields, and
// the producer's liveness once a tick.
func (rd *Reader) poll(ctx context.Context) error {
	done := ctx.Done()
	tick := rd.wait.tick()
	next := time.Now().Add(tick)
	for i := 0; ; i++ {
		if rd.arrived() {
			return nil
		}
		if i&1023 == 1023 {
			if err := rd.stopped(ctx, done); err != nil {
				return err
			}
			if now := time.Now(); now.After(next) {
				next = now.Add(tick)
				if err := rd.producerDead(); err != nil {
					return err
				}
				if err := rd.consistent(); err != nil {
					return err
				}
			}
			runtime.Gosched()
		}
	}
}

// sleep is the futex protocol (package futex has it as pseudo-code), with
// a flag for any number of sleepers:
//
//	w := Wake; Sleepers = 1 (swap); barrier if the producer uses release stores
//	if the slot at q is no longer "not yet": go on
//	futex_wait(&Wake, w, tick)
//
// The producer stores the slot's seq and its cursor, then, if Sleepers !=
// 0, swaps it to 0, adds one to Wake and wakes everyone. A reader that
// re-checks and goes on leaves the flag set: another reader may be asleep
// on it, and the producer's next publish clears it with one wake.
func (rd *Reader) sleep(ctx context.Context) error {
	tick := rd.wait.tick()
	deadline, hasDeadline := ctx.Deadline()
	word := (*uint32)(unsafe.Pointer(rd.w.wake))
	probe := false
	for {
		if rd.arrived() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := rd.r.interrupted(); err != nil {
			return err
		}
		if err := rd.closedShort(); err != nil {
			return err
		}
		if probe {
			if err := rd.producerDead(); err != nil {
				return err
			}
			if err := rd.consistent(); err != nil {
				return err
			}
		}
		timeout := tick
		if hasDeadline {
			timeout = min(timeout, time.Until(deadline))
			if timeout <= 0 {
				return expired(ctx)
			}
		}
		// The wake word is read before announcing, as in endpoint.sleep.
		w := rd.w.wake.Load()
		rd.w.sleepers.Swap(1)
		if rd.w.flags.Load()&layout.FlagReleaseStores != 0 && fence.Barrier() != nil {
			timeout = min(timeout, time.Millisecond)
		}
		atStep(stepSleepingEmpty)
		if rd.arrived() || rd.closedShort() != nil {
			continue
		}
		rd.stats.Sleeps++
		err := futex.Wait(word, w, timeout)
		probe = errors.Is(err, futex.ErrTimeout)
		if err != nil && !probe && !errors.Is(err, futex.ErrValueChanged) {
			return err
		}
	}
}
