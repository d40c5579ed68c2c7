package ring

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

// await blocks until the other side's cursor reaches need and returns it
// (unvalidated: the caller bounds-checks it). It spins, yields, then sleeps
// or polls, as e.wait says. A consumer gets ErrClosed when the producer
// closed the stream short of need; either side gets ErrPeerDead when the
// other's holder died, and the context's error when it ends.
func (e *endpoint) await(ctx context.Context, need uint64) (uint64, error) {
	done := ctx.Done()
	for i := 0; i < e.wait.Spin; i++ {
		if v := e.peer.cursor.Load(); v >= need {
			return v, nil
		}
		if i&255 == 255 {
			if err := e.stopped(ctx, done, need); err != nil {
				return 0, err
			}
		}
	}
	for i := 0; i < e.wait.Yield; i++ {
		runtime.Gosched()
		if v := e.peer.cursor.Load(); v >= need {
			return v, nil
		}
		if err := e.stopped(ctx, done, need); err != nil {
			return 0, err
		}
	}
	if err := e.r.enterWait(); err != nil {
		return 0, err
	}
	defer e.r.leaveWait()
	if e.wait.Sleep {
		return e.sleep(ctx, need)
	}
	return e.poll(ctx, need)
}

// stopped reports why a waiter should stop: the context ended, or the
// stream is closed short of need. Cheap: no system call.
func (e *endpoint) stopped(ctx context.Context, done <-chan struct{}, need uint64) error {
	if done != nil {
		select {
		case <-done:
			return context.Cause(ctx)
		default:
		}
	}
	if err := e.r.interrupted(); err != nil {
		return err
	}
	return e.closedShort(need)
}

// closedShort: for a consumer, the producer closed the stream and its
// cursor stays short of need. State is loaded before the cursor: the
// producer stores its last cursor before its closed state.
func (e *endpoint) closedShort(need uint64) error {
	if e.role != consumerRole {
		return nil
	}
	st := e.peer.state.Load()
	if st&^layout.StateMask != 0 {
		return e.r.corrupt("producer state=%#x", st)
	}
	if st&layout.StateClosed == 0 {
		return nil
	}
	if e.peer.cursor.Load() >= need {
		return nil
	}
	return ErrClosed
}

// poll waits without sleeping on the futex (WaitSpin): it alternates short
// spins with yields and checks the peer's liveness once a tick.
func (e *endpoint) poll(ctx context.Context, need uint64) (uint64, error) {
	done := ctx.Done()
	tick := e.wait.tick()
	next := time.Now().Add(tick)
	for i := 0; ; i++ {
		if v := e.peer.cursor.Load(); v >= need {
			return v, nil
		}
		if i&1023 == 1023 {
			if err := e.stopped(ctx, done, need); err != nil {
				return 0, err
			}
			if now := time.Now(); now.After(next) {
				next = now.Add(tick)
				if err := e.peerDead(); err != nil {
					return 0, err
				}
			}
			runtime.Gosched()
		}
	}
}

// sleep is the futex protocol (package futex has it as pseudo-code):
//
//	w := peer.wake                 // the value to sleep on, read first
//	sleeping = 1                   // announce
//	barrier if peer uses release stores
//	if peer.cursor >= need: sleeping = 0, done   // re-check
//	futex_wait(&peer.wake, w, tick)             // sleeps only if no wake since w
//	sleeping = 0
//
// The publisher stores its cursor, then wakes (sleeping = 0, peer.wake++,
// FUTEX_WAKE) only if sleeping != 0; one of the two always sees the other's
// store. An SPSC side has one sleeper at most, so a flag does.
func (e *endpoint) sleep(ctx context.Context, need uint64) (uint64, error) {
	tick := e.wait.tick()
	deadline, hasDeadline := ctx.Deadline()
	wakeWord := (*uint32)(unsafe.Pointer(e.peer.wake))
	// The liveness probe is a system call, so it runs only after a sleep
	// that timed out: a dead peer is reported within one tick.
	probePeer := false
	for {
		if v := e.peer.cursor.Load(); v >= need {
			return v, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, context.Cause(ctx)
		}
		if err := e.r.interrupted(); err != nil {
			return 0, err
		}
		if err := e.closedShort(need); err != nil {
			return 0, err
		}
		if probePeer {
			if err := e.peerDead(); err != nil {
				return 0, err
			}
		}
		timeout := tick
		if hasDeadline {
			timeout = min(timeout, time.Until(deadline))
			if timeout <= 0 {
				return 0, expired(ctx)
			}
		}

		// The wake word is read before announcing: a waker that clears
		// this announcement bumps the word after it, so the wait below
		// then returns at once. Read after, a late waker still clearing
		// a previous announcement could clear this one and bump the word
		// first, and the sleep would start on the bumped value with no
		// one left to wake it.
		w := e.peer.wake.Load()
		e.own.sleepers.Swap(1) // a full fence even under the race detector
		if e.peer.flags.Load()&layout.FlagReleaseStores != 0 && fence.Barrier() != nil {
			// The peer's release stores cannot be fenced from here:
			// a wake may be missed, so sleep briefly and look again.
			timeout = min(timeout, time.Millisecond)
		}
		if v := e.peer.cursor.Load(); v >= need || e.closedShort(need) != nil {
			e.own.sleepers.Store(0)
			continue
		}
		e.stats.Sleeps++
		err := futex.Wait(wakeWord, w, timeout)
		e.own.sleepers.Store(0)
		probePeer = errors.Is(err, futex.ErrTimeout)
		if err != nil && !probePeer && !errors.Is(err, futex.ErrValueChanged) {
			return 0, err
		}
	}
}

// expired is what a waiter returns once its own clock says ctx's deadline
// has passed. The context's timer fires at that same instant; waiting for
// it lets context.Cause carry a cause set with context.WithDeadlineCause
// instead of a bare context.DeadlineExceeded.
func expired(ctx context.Context) error {
	<-ctx.Done()
	return context.Cause(ctx)
}
