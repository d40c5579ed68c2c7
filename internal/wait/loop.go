package wait

// The loop of every blocking call: each caller says what it polls, what it
// sleeps on and how it checks its peers (a Waiter and a Loop's fields):
//
//	spin:  Spin polls (a Spinner's Spun, else Ready), with checks every
//	       256 (context, Waiter.Stopped; no system call), then on
//	       adaptively (adaptive.go)
//	yield: Yield times yield, poll, checks
//	sleep: the futex protocol below, at most a tick per sleep; the peers
//	       probed after a sleep that timed out and at least once a tick
//	poll:  instead of sleep when Sleep is false: 1024 polls, checks, yield
//
// Only the sleep or poll phase counts itself in Host.Enter; a spinning
// waiter sees its host closing within 256 polls (Stopped says so). The
// futex protocol:
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

// Waiter is what one blocking call waits for. Pass a type whose value is a
// single pointer (a struct holding a handle pointer), so that making the
// interface value does not allocate.
type Waiter interface {
	// Ready polls once: the wait is over (the condition holds, or the
	// attempt succeeded or failed for good).
	Ready() bool
	// Stopped says why waiting must end, without a system call: the host
	// closing or its memory gone, the peer closed short, a word no peer
	// writes. The spin phase's only check besides the context.
	Stopped() error
	// Probe checks the peers' liveness and repairs what it may: system
	// calls, at most once a tick.
	Probe() error
}

// A Spinner is a Waiter with a cheaper look for the spin phases, one that
// leaves alone a line the peer is about to write (an SPSC consumer looks
// at the next slot, not at the producer's cursor). Spun may miss what
// Ready sees, never say ready where Ready would not: the phases that
// yield and sleep look with Ready, whose condition the futex handshake
// orders.
type Spinner interface {
	Waiter
	Spun() bool
}

// spun is w's look while spinning: sp's Spun, or w's Ready.
func spun(w Waiter, sp Spinner) bool {
	if sp != nil {
		return sp.Spun()
	}
	return w.Ready()
}

// Host is the owner of the handles that wait (the ring), for the phase
// that may sleep: it counts its sleepers so that closing it can wait for
// them to leave, and lets a fault test kill the process in a sleep. A
// pointer type, for the same reason as Waiter.
type Host interface {
	// Enter counts a waiter into the sleep (or poll) phase, or says,
	// uncounted, why it must not wait; Leave counts it out.
	Enter() error
	Leave()
	// Sleeping: announced, re-checked, about to sleep; at is Loop.At.
	Sleeping(at int)
}

// Barrier: must a sleeper force a barrier on its wakers after it
// announces itself? A plain release store lacks the StoreLoad order.
type Barrier uint8

const (
	NoBarrier        Barrier = iota // the wakers publish with a CAS or an exchange
	BarrierIfFlagged                // the waker's flags word says layout.FlagReleaseStores
	BarrierAlways                   // any waker may use release stores (lossless broadcast readers)
)

// Loop is one blocking call's wait, built on the caller's stack.
type Loop struct {
	Host     Host
	Config   *Config
	Estimate *Estimate // the handle's adaptive spin state
	Sleeps   *uint64   // counts the futex sleeps (the handle's Stats.Sleeps)
	Sleepers Sleepers
	Barrier  Barrier
	Flags    *atomic.Uint32 // the waker's flags, for BarrierIfFlagged
	At       int            // passed to Host.Sleeping: the fault test's step
	// Every+1 spin polls to one look at the condition (a power of two;
	// zero looks every time): the gate's look scans every reader's line,
	// so it is spaced out.
	Every      int
	ProbeFirst bool // probe before the first sleep (the gate evicts a dead reader at once)
}

// Run waits for w. It returns nil when w.Ready said so, else why it
// stopped: the context's cause, w.Stopped's, Host.Enter's or w.Probe's.
func (l *Loop) Run(ctx context.Context, w Waiter) error {
	done := ctx.Done()
	sp, _ := w.(Spinner)
	for i := 0; i < l.Config.Spin; i++ {
		if i&l.Every == l.Every && spun(w, sp) {
			if l.Config.Adaptive {
				l.Estimate.learn(0)
			}
			return nil
		}
		if i&255 == 255 {
			if err := stop(ctx, done, w); err != nil {
				return err
			}
		}
	}
	if !l.Config.Adaptive {
		return l.block(ctx, done, w, l.Config.Yield)
	}
	start := clock() // when the fixed polls ran out
	if l.Estimate.backoff > 0 {
		l.Estimate.backoff-- // a recent spin lost its core: no spinning on
	} else if ok, err := l.spinOn(ctx, done, w, sp, start); ok || err != nil {
		return err
	}
	yields := l.Config.Yield
	if l.Estimate.avg > int64(spinCeiling) {
		yields = 0 // the waits have lately been long: sleep at once
	}
	err := l.block(ctx, done, w, yields)
	if err == nil {
		l.Estimate.slept(clock() - start)
	}
	return err
}

// spinOn spins past the fixed polls for the estimate's budget, reading the
// clock every 256 polls; a gap between two readings means the spinner lost
// its core: it gives up and backs off.
func (l *Loop) spinOn(ctx context.Context, done <-chan struct{}, w Waiter, sp Spinner, start int64) (bool, error) {
	budget := l.Estimate.budget()
	for last := start; last-start < budget; {
		for i := 0; i < 256; i++ {
			if i&l.Every == l.Every && spun(w, sp) {
				l.Estimate.spun(clock() - start)
				return true, nil
			}
		}
		if err := stop(ctx, done, w); err != nil {
			return false, err
		}
		now := clock()
		if now-last > int64(preemptGap) {
			l.Estimate.preempted()
			return false, nil
		}
		last = now
	}
	return false, nil
}

// block is the yield phase, then the sleep (or poll) phase.
func (l *Loop) block(ctx context.Context, done <-chan struct{}, w Waiter, yields int) error {
	for i := 0; i < yields; i++ {
		yield()
		if w.Ready() {
			return nil
		}
		if err := stop(ctx, done, w); err != nil {
			return err
		}
	}
	if err := l.Host.Enter(); err != nil {
		return err
	}
	defer l.Host.Leave()
	tick := l.Config.Period()
	deadline, hasDeadline := ctx.Deadline()
	word := (*uint32)(unsafe.Pointer(l.Sleepers.Wake))
	probe := l.ProbeFirst
	nextProbe := time.Now().Add(tick)
	for {
		if w.Ready() {
			return nil
		}
		if err := stop(ctx, done, w); err != nil {
			return err
		}
		if now := time.Now(); probe || now.After(nextProbe) {
			probe, nextProbe = false, now.Add(tick)
			if err := w.Probe(); err != nil {
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
		if !l.Config.Sleep {
			for i := 0; i < 1024; i++ {
				if i&l.Every == l.Every && w.Ready() {
					return nil
				}
			}
			yield()
			continue
		}

		// SYNC POINT: wake. Read before announcing (see the top).
		v := l.Sleepers.Wake.Load()
		e := l.Sleepers.Announce()
		if l.mustBarrier() && fence.Barrier() != nil {
			timeout = min(timeout, time.Millisecond) // unfenced: a wake may be missed, look again soon
		}
		if w.Ready() {
			l.Sleepers.Withdraw(e)
			return nil
		}
		if w.Stopped() != nil {
			l.Sleepers.Withdraw(e)
			continue
		}
		l.Host.Sleeping(l.At)
		*l.Sleeps++
		err := futex.Wait(word, v, timeout)
		l.Sleepers.Withdraw(e)
		probe = errors.Is(err, futex.ErrTimeout) // the peer may be dead: probe before sleeping again
		if err != nil && !probe && !errors.Is(err, futex.ErrValueChanged) {
			return err
		}
	}
}

func (l *Loop) mustBarrier() bool {
	switch l.Barrier {
	case BarrierAlways:
		return true
	case BarrierIfFlagged:
		return l.Flags.Load()&layout.FlagReleaseStores != 0
	}
	return false
}

// stop: why a waiter must stop, without a system call. The waiter's own
// reasons first: a stream that ended, or a ring closed, is the answer
// whatever the context says (a call looks at its context only when it
// must wait, and there is nothing left to wait for).
func stop(ctx context.Context, done <-chan struct{}, w Waiter) error {
	if err := w.Stopped(); err != nil {
		return err
	}
	if done != nil {
		select {
		case <-done:
			return context.Cause(ctx)
		default:
		}
	}
	return nil
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
