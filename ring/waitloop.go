package ring

// The wait loop of every blocking call: an SPSC side (wait.go), an MPMC or
// MPSC handle (mpmc_wait.go), a broadcast reader (bcast_wait.go) and a
// lossless broadcast producer at its gate (bcast_gate.go) each say what
// they poll, what they sleep on and how they check their peers:
//
//	spin:  Spin polls, with checks every 256 (context, closing, peer; no
//	       system call), then on adaptively (adaptive.go)
//	yield: Yield times yield, poll, checks
//	sleep: the futex protocol below, at most a tick per sleep; the peers
//	       probed after a sleep that timed out and at least once a tick
//	poll:  instead of sleep when Sleep is false: 1024 polls, checks, yield
//
// Only the sleep or poll phase counts itself in Ring.enterWait; a spinning
// waiter sees Close within 256 polls. The futex protocol:
//
//	v := wake                   // read before announcing (see below)
//	e := announce(sleepers)     // a swap or a CAS: a full fence
//	barrier if a waker publishes with a plain release store (package fence)
//	if poll() succeeds: withdraw(sleepers, e), done   // re-check
//	futex_wait(&wake, v, timeout ≤ tick); withdraw(sleepers, e)
//
// The waker publishes, then clears sleepers and wakes if it was set
// (sleepers.go): one of the two sees the other's store. A waker bumps the
// wake word after clearing an announcement, so a sleeper that read the word
// before announcing finds it changed; read after, a late waker clearing an
// earlier announcement could clear this one and bump the word first, and
// the sleep would start on the bumped value with no one left to wake it.

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

// waiter is what one blocking call waits for: a struct holding a handle
// pointer, so that passing it does not allocate.
type waiter interface {
	ready() bool    // poll once: the wait is over (the condition holds, or the attempt succeeded or failed for good)
	stopped() error // why waiting must end, from the peer, without a system call: closed short, a word no peer writes
	probe() error   // the peers' liveness, and what may be repaired: system calls, at most once a tick
}

// barrierRule: must a sleeper force a barrier on its wakers after it
// announces itself? A plain release store lacks the StoreLoad order.
type barrierRule uint8

const (
	noBarrier        barrierRule = iota // the wakers publish with a CAS or an exchange
	barrierIfFlagged                    // the waker's flags word says layout.FlagReleaseStores
	barrierAlways                       // any waker may use release stores (lossless broadcast readers)
)

// waitState is a handle's own part of waiting: the adaptive spin's
// estimate, and the operands of the wait in progress (one at a time).
type waitState struct {
	est      spinEstimate
	need     uint64     // SPSC: the peer cursor awaited
	pos      uint64     // SPSC: the peer cursor seen; MPMC: the attempt's position
	err      error      // MPMC: the attempt's error
	try      mpmcWaiter // MPMC: the attempt and the probe
	notReady error      // MPMC: the attempt's "wait on" error (ErrFull, ErrEmpty)
}

// waitLoop is one blocking call's wait, built on the caller's stack.
type waitLoop struct {
	r       *Ring
	how     *WaitStrategy
	est     *spinEstimate
	stats   *Stats // Sleeps
	sleep   sleepers
	barrier barrierRule
	flags   *atomic.Uint32 // the waker's flags, for barrierIfFlagged
	at      step           // the test hook's step: announced, re-checked, about to sleep
	// every+1 spin polls to one look at the condition (a power of two):
	// the gate's look scans every reader's line, so it is spaced out.
	every      int
	probeFirst bool // probe before the first sleep (the gate evicts a dead reader at once)
}

// run waits for w. It returns nil when w.ready said so, else why it
// stopped: the context's cause, the ring closing, w.stopped's or w.probe's.
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

// spinOn spins past the fixed polls for the estimate's budget, reading the
// clock every 256 polls; a gap between two readings means the spinner lost
// its core: it gives up and backs off.
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
			timeout = min(timeout, time.Millisecond) // unfenced: a wake may be missed, look again soon
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

// stop: why a waiter must stop, without a system call.
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

// expired: ctx's deadline has passed by the waiter's clock. Its timer fires
// at that instant; waiting for it lets context.Cause carry a cause set with
// context.WithDeadlineCause, not a bare context.DeadlineExceeded.
func expired(ctx context.Context) error {
	<-ctx.Done()
	return context.Cause(ctx)
}

// clock: monotonic nanoseconds (time.Since reads only that clock, ~30 ns).
var clockBase = time.Now()

func clock() int64 { return int64(time.Since(clockBase)) }
