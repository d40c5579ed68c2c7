package ring

// The wait loop: every blocking call of every kind waits here — an SPSC
// producer for space and consumer for data (wait.go), MPMC and MPSC
// handles (mpmc_wait.go), a broadcast reader (bcast_wait.go) and a
// lossless broadcast producer at its gate (bcast_gate.go). Each says what
// it polls, what it sleeps on and how it checks its peers; the loop does
// the rest, the same way for all:
//
//	spin:  poll; every 256 polls: context, ring closing, peer checks
//	       (no system call, no clock: WaitStrategy.Spin polls; with
//	       Adaptive, on for as long as this handle's waits lately took)
//	yield: yield the core (yield), poll, checks; WaitStrategy.Yield times
//	sleep: the futex protocol below, a tick at most per sleep; the peer's
//	       liveness probed after a sleep that timed out and once a tick
//	poll:  (WaitStrategy.Sleep false) 1024 polls, checks, yield, again
//
// Only the sleep or poll phase counts itself in Ring.enterWait, so that
// Close waits for it; a spinning waiter sees closing within 256 polls.
//
// The futex protocol (package futex has it as pseudo-code):
//
//	v := wake                    // the value to sleep on, read first
//	e := announce(sleepers)      // a swap or a CAS: a full fence
//	barrier if a waker publishes with a plain release store
//	if poll() succeeds: withdraw(sleepers, e), done      // re-check
//	futex_wait(&wake, v, timeout ≤ tick)  // sleeps only if no wake since v
//	withdraw(sleepers, e)
//
// The waker publishes, then clears sleepers and wakes if it was set
// (sleepers.go); with both sides' stores fenced, one of the two always
// sees the other's. The wake word is read before announcing: a waker that
// clears this announcement bumps the word after it, so the wait then
// returns at once. Read after, a late waker still clearing a previous
// announcement could clear this one and bump the word first, and the
// sleep would start on the bumped value with no one left to wake it.

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// waiter is what one blocking call waits for. Implementations are small
// structs holding a handle pointer, so that passing one as a waiter does
// not allocate.
type waiter interface {
	// ready polls once and reports that the wait is over: the condition
	// holds, or the attempt succeeded or failed for good. The spin phase
	// calls it back to back: no system call.
	ready() bool
	// stopped reports why waiting must end that comes from the peer,
	// without a system call: the stream closed short of what is awaited,
	// a word no peer writes.
	stopped() error
	// probe checks the peers' liveness and repairs what it may: system
	// calls, so after a sleep that timed out and at most once a tick.
	probe() error
}

// barrierRule says whether a sleeper must force a barrier on its wakers
// after announcing itself (package fence): a waker that publishes with a
// plain release store lacks the StoreLoad order the protocol needs.
type barrierRule uint8

const (
	noBarrier        barrierRule = iota // the wakers publish with a full fence (a CAS or an exchange)
	barrierIfFlagged                    // the waker's flags word says layout.FlagReleaseStores
	barrierAlways                       // any waker may use release stores (lossless broadcast readers)
)

// waitState is a handle's process-local part of waiting: the adaptive
// spin's estimate, and the operands of the wait in progress (a handle
// waits in one goroutine at a time).
type waitState struct {
	est spinEstimate

	need     uint64     // SPSC: the peer cursor awaited
	pos      uint64     // SPSC: the peer cursor seen; MPMC: the attempt's position
	err      error      // MPMC: the attempt's error
	try      mpmcWaiter // MPMC: the attempt and the probe
	notReady error      // MPMC: the attempt's "wait on" error (ErrFull, ErrEmpty)
}

// waitLoop is one blocking call's wait: everything it needs besides the
// waiter. Built on the caller's stack for each call.
type waitLoop struct {
	r       *Ring
	how     *WaitStrategy
	est     *spinEstimate // adaptive
	stats   *Stats        // Sleeps
	sleep   sleepers
	barrier barrierRule
	flags   *atomic.Uint32 // the waker's flags word, for barrierIfFlagged
	at      step           // the test hook's point: announced, re-checked, about to sleep
	// every+1 (a power of two) is how many spin polls there are to one
	// look at the condition: a look that is dear and touches the
	// readers' lines (the broadcast gate's scan) is spaced out.
	every int
	// probeFirst probes before the first sleep (the gate: a dead
	// reader holding it is evicted at once, not a tick later).
	probeFirst bool
}

// run waits for w: spin, yield, then sleep or poll. It returns nil when
// w.ready said so, else why it stopped: the context's cause, ErrClosed
// when the ring is closing, w.stopped's or w.probe's error.
func (l *waitLoop) run(ctx context.Context, w waiter) error {
	done := ctx.Done()
	for i := 0; i < l.how.Spin; i++ {
		if i&l.every == l.every && w.ready() {
			if l.how.Adaptive {
				l.est.learn(0)
			}
			return nil
		}
		if i&255 == 255 {
			if err := l.stop(ctx, done, w); err != nil {
				return err
			}
		}
	}
	if !l.how.Adaptive {
		return l.block(ctx, done, w, l.how.Yield)
	}
	start := clock() // when the fixed polls ran out
	if l.est.backoff > 0 {
		l.est.backoff-- // a recent spin lost its core: no spinning on
	} else if ok, err := l.spinOn(ctx, done, w, start); ok || err != nil {
		return err
	}
	yields := l.how.Yield
	if l.est.avg > int64(spinCeiling) {
		yields = 0 // the waits have lately been long: sleep at once
	}
	err := l.block(ctx, done, w, yields)
	if err == nil {
		l.est.learn(clock() - start)
	}
	return err
}

// spinOn is the adaptive part of the spin phase: polls until the budget
// the handle's recent waits give (spinEstimate.budget) has passed, reading
// the clock every 256 polls. A gap between two readings means the spinner
// lost its core: it gives up and backs off (spinEstimate.preempted).
func (l *waitLoop) spinOn(ctx context.Context, done <-chan struct{}, w waiter, start int64) (bool, error) {
	budget := l.est.budget()
	for last := start; last-start < budget; {
		for i := 0; i < 256; i++ {
			if i&l.every == l.every && w.ready() {
				l.est.spun(clock() - start)
				return true, nil
			}
		}
		if err := l.stop(ctx, done, w); err != nil {
			return false, err
		}
		now := clock()
		if now-last > int64(preemptGap) {
			l.est.preempted()
			return false, nil
		}
		last = now
	}
	return false, nil
}

// block is the yield phase, then the sleep (or poll) phase.
func (l *waitLoop) block(ctx context.Context, done <-chan struct{}, w waiter, yields int) error {
	for i := 0; i < yields; i++ {
		yield()
		if w.ready() {
			return nil
		}
		if err := l.stop(ctx, done, w); err != nil {
			return err
		}
	}
	if err := l.r.enterWait(); err != nil {
		return err
	}
	defer l.r.leaveWait()
	tick := l.how.tick()
	deadline, hasDeadline := ctx.Deadline()
	word := (*uint32)(unsafe.Pointer(l.sleep.wake))
	probe := l.probeFirst
	nextProbe := time.Now().Add(tick)
	for {
		if w.ready() {
			return nil
		}
		if err := l.stop(ctx, done, w); err != nil {
			return err
		}
		if now := time.Now(); probe || now.After(nextProbe) {
			probe, nextProbe = false, now.Add(tick)
			if err := w.probe(); err != nil {
				return err
			}
			continue // what the probe repaired may have ended the wait
		}
		timeout := tick
		if hasDeadline {
			timeout = min(timeout, time.Until(deadline))
			if timeout <= 0 {
				return expired(ctx)
			}
		}
		if !l.how.Sleep {
			for i := 0; i < 1024; i++ {
				if i&l.every == l.every && w.ready() {
					return nil
				}
			}
			yield()
			continue
		}

		v := l.sleep.wake.Load()
		e := l.sleep.announce()
		if l.mustBarrier() && fence.Barrier() != nil {
			// The wakers' release stores cannot be fenced from
			// here: a wake may be missed, so sleep briefly and look
			// again.
			timeout = min(timeout, time.Millisecond)
		}
		if w.ready() {
			l.sleep.withdraw(e)
			return nil
		}
		if w.stopped() != nil {
			l.sleep.withdraw(e)
			continue
		}
		atStep(l.at)
		l.stats.Sleeps++
		err := futex.Wait(word, v, timeout)
		l.sleep.withdraw(e)
		probe = errors.Is(err, futex.ErrTimeout) // the peer may be dead: probe before sleeping again
		if err != nil && !probe && !errors.Is(err, futex.ErrValueChanged) {
			return err
		}
	}
}

func (l *waitLoop) mustBarrier() bool {
	switch l.barrier {
	case barrierAlways:
		return true
	case barrierIfFlagged:
		return l.flags.Load()&layout.FlagReleaseStores != 0
	}
	return false
}

// stop reports why a waiter must stop, without a system call: its context
// ended, the ring is closing or shrunk, or w.stopped says so.
func (l *waitLoop) stop(ctx context.Context, done <-chan struct{}, w waiter) error {
	if done != nil {
		select {
		case <-done:
			return context.Cause(ctx)
		default:
		}
	}
	if err := l.r.interrupted(); err != nil {
		return err
	}
	return w.stopped()
}

// expired is what a waiter returns once its own clock says ctx's deadline
// has passed. The context's timer fires at that same instant; waiting for
// it lets context.Cause carry a cause set with context.WithDeadlineCause
// instead of a bare context.DeadlineExceeded.
func expired(ctx context.Context) error {
	<-ctx.Done()
	return context.Cause(ctx)
}

// clockBase makes clock a small number: nanoseconds on the monotonic clock
// (time.Since reads only that one, in about 30 ns here).
var clockBase = time.Now()

func clock() int64 { return int64(time.Since(clockBase)) }
