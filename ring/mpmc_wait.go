package ring

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmring/shmring/futex"
)

// mpmcWaiter is one side's part of a wait: try the operation, and check the
// peers' liveness once a tick.
type mpmcWaiter interface {
	// attempt tries once; notReady (ErrFull or ErrEmpty) means wait on.
	attempt() (uint64, error)
	// probe looks for dead peers that block this side and repairs what
	// it may. System calls: at most once per tick.
	probe() error
}

// await waits for w.attempt to succeed: spin, yield, then sleep on the
// futex word wake (or poll, for a wait strategy that does not sleep). The
// peers' liveness is probed after a sleep that timed out and at least once
// a tick while the wait goes on (so wake-ups for messages this waiter cannot
// take do not starve the probe).
//
// The futex protocol (mpmc_sleepers.go; sleepers holds an epoch and a
// count, because many may sleep):
//
//	v := wake                    // the value to sleep on, read first
//	e := announce(sleepers)      // count+1 in epoch e (a CAS: full fence)
//	if attempt() succeeds: withdraw(sleepers, e), done   // re-check
//	futex_wait(&wake, v, tick)   // sleeps only if no wake since v
//	withdraw(sleepers, e)        // count-1, unless a waker began a new epoch
//
// The other side changes a control word by CAS (a full fence), then, only
// if the count is not zero, starts a new epoch with a zero count and wakes
// everyone (wake++, FUTEX_WAKE all); one of the two always sees the other's
// store. Everyone is woken, so a sleeper that leaves without succeeding
// (its context ended) has no wake to pass on.
func (h *mpmcHandle) await(ctx context.Context, w mpmcWaiter, notReady error, wake, sleepers *atomic.Uint32, at step) (uint64, error) {
	done := ctx.Done()
	for i := 0; i < h.wait.Spin; i++ {
		if pos, err := w.attempt(); err != notReady {
			return pos, err
		}
		if i&255 == 255 {
			if err := h.r.interrupted(); err != nil {
				return 0, err
			}
			if done != nil {
				select {
				case <-done:
					return 0, context.Cause(ctx)
				default:
				}
			}
		}
	}
	thread := h.wait.Yield > 0 && yieldsThread() // alone in its process: yield the core (yield_linux.go)
	for i := 0; i < h.wait.Yield; i++ {
		if thread {
			yieldThread()
		} else {
			runtime.Gosched()
		}
		if pos, err := w.attempt(); err != notReady {
			return pos, err
		}
		if err := ctx.Err(); err != nil {
			return 0, context.Cause(ctx)
		}
		if err := h.r.interrupted(); err != nil {
			return 0, err
		}
	}
	if err := h.r.enterWait(); err != nil {
		return 0, err
	}
	defer h.r.leaveWait()
	tick := h.wait.tick()
	deadline, hasDeadline := ctx.Deadline()
	wakeWord := (*uint32)(unsafe.Pointer(wake))
	nextProbe := time.Now().Add(tick)
	probe := false
	for i := 0; ; i++ {
		if pos, err := w.attempt(); err != notReady {
			return pos, err
		}
		if err := ctx.Err(); err != nil {
			return 0, context.Cause(ctx)
		}
		if err := h.r.interrupted(); err != nil {
			return 0, err
		}
		if now := time.Now(); probe || now.After(nextProbe) {
			nextProbe = now.Add(tick)
			if err := w.probe(); err != nil {
				return 0, err
			}
			probe = false
			if pos, err := w.attempt(); err != notReady {
				return pos, err
			}
		}
		timeout := tick
		if hasDeadline {
			timeout = min(timeout, time.Until(deadline))
			if timeout <= 0 {
				return 0, expired(ctx)
			}
		}
		if !h.wait.Sleep {
			for j := 0; j < 1024; j++ {
				if pos, err := w.attempt(); err != notReady {
					return pos, err
				}
			}
			runtime.Gosched()
			continue
		}
		v := wake.Load()
		e := announce(sleepers) // a full fence: the re-check below cannot pass it
		if pos, err := w.attempt(); err != notReady {
			withdraw(sleepers, e)
			return pos, err
		}
		atStep(at)
		h.stats.Sleeps++
		err := futex.Wait(wakeWord, v, timeout)
		withdraw(sleepers, e)
		probe = errors.Is(err, futex.ErrTimeout)
		if err != nil && !probe && !errors.Is(err, futex.ErrValueChanged) {
			return 0, err
		}
	}
}
