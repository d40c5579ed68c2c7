//go:build linux

package ring

// A process killed between an MPMC entry's State store and its side's
// count update, and the stream word that ends with the last producer
// (mpmc_count.go). Found by a reviewer; every case here failed before.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

func init() { proctest.Register("count-producer", childCountProducer) }

// childCountProducer kills itself at a step of its producer's life. Args:
// ring name, step, when: "join" arms the step before Producer()
// ("join-consumer": before Consumer()); "leave"
// sends message 0, arms, and closes; "hold" takes a producer, says
// "ready" and waits to be killed; "reap" takes a consumer, arms, and
// receives (reaping the dead producer it finds).
func childCountProducer() int {
	a := childArgs(3)
	name, stepName, when := a[0], a[1], a[2]
	target, _ := stepNamed(stepName)
	var armed sync.Mutex
	armed.Lock()
	arm := func() { armed.Unlock() }
	setStepHook(func(s step) {
		if s == target && armed.TryLock() {
			killSelf()
		}
	})
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), xpAwaitBound)
	defer cancel()
	switch when {
	case "join":
		arm()
		_, err := r.Producer()
		return childFail("Producer = %v, not killed at %s", err, stepName)
	case "leave", "hold":
		p, err := r.Producer()
		if err != nil {
			return childFail("Producer: %v", err)
		}
		if when == "hold" {
			fmt.Println("ready")
			hangForever()
		}
		msg := make([]byte, killMsgSize)
		encodeMessage(msg, xpSeq(killedStream, 0))
		if err := p.Send(ctx, msg); err != nil {
			return childFail("Send: %v", err)
		}
		arm()
		return childFail("Close = %v, not killed at %s", p.Close(), stepName)
	case "join-consumer":
		arm()
		_, err := r.Consumer()
		return childFail("Consumer = %v, not killed at %s", err, stepName)
	case "reap":
		c, err := r.Consumer()
		if err != nil {
			return childFail("Consumer: %v", err)
		}
		arm()
		_, err = c.Recv(ctx, make([]byte, killMsgSize))
		return childFail("Recv = %v, not killed at %s", err, stepName)
	}
	return childFail("no way %q", when)
}

// countRing is an MPMC ring for these tests and a consumer on it.
func countRing(t *testing.T, maxProducers int) (*Ring, *Consumer) {
	t.Helper()
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: maxProducers, MaxConsumers: 2})
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	c.SetWait(killWait)
	return r, c
}

// killedAt runs a count-producer child until it kills itself at s.
func killedAt(t *testing.T, r *Ring, s step, when string) {
	t.Helper()
	child := proctest.Start(t, "count-producer", r.Name(), s.String(), when)
	waitKilled(t, child, fmt.Sprintf("a producer process killed at %v (%s)", s, when))
}

// recvEnd receives until the stream ends and returns how it ended: the
// killed stream's message 0 may come first.
func recvEnd(t *testing.T, r *Ring, c *Consumer) error {
	t.Helper()
	ctx := xpBounded(t)
	buf := make([]byte, killMsgSize)
	for got := 0; ; got++ {
		n, err := c.Recv(ctx, buf)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Recv waited for ever (the stream never ended): %v\n%s", err, xpDump(r))
			}
			return err
		}
		if err := checkMessage(buf[:n], xpSeq(killedStream, 0), killMsgSize); err != nil || got > 0 {
			t.Fatalf("message %d of the stream: %v (want message 0, once)", got, err)
		}
	}
}

// TestMPMCKilledAtJoinLeaveOrReapEndsTheStream: a producer killed inside
// Close after storing its entry free, a consumer killed while reaping the
// last dead producer after storing its entry free, and a producer killed
// inside Producer() after counting itself, each with no producer left:
// the consumer gets ErrPeerDead. The count each left one too high kept
// the stream open, and the consumer waited for ever.
func TestMPMCKilledAtJoinLeaveOrReapEndsTheStream(t *testing.T) {
	requireStepHook(t)
	proctest.Watchdog(t, hangBound)
	for _, tc := range []struct {
		at   step
		when string
	}{{stepLeaveFreed, "leave"}, {stepJoinCounted, "join"}, {stepReapFreed, "reap"}} {
		t.Run(tc.at.String(), func(t *testing.T) {
			r, c := countRing(t, 1)
			if tc.when == "reap" {
				holder := proctest.Start(t, "count-producer", r.Name(), "none", "hold")
				holder.Expect("ready")
				holder.Kill()
				<-holder.Done()
			}
			killedAt(t, r, tc.at, tc.when)
			if err := recvEnd(t, r, c); !errors.Is(err, ErrPeerDead) {
				t.Fatalf("the end of the stream = %v, want ErrPeerDead\n%s", err, xpDump(r))
			}
		})
	}
}

// TestMPMCKilledAtJoinLeavesTheRoleFree: a producer killed inside
// Producer() after counting itself, on a ring of one producer: the next
// Producer() takes the role (it was refused for good, "attached count=2
// beyond limit=1", ErrCorrupt until a Reset), and its Close ends the
// stream cleanly.
func TestMPMCKilledAtJoinLeavesTheRoleFree(t *testing.T) {
	requireStepHook(t)
	proctest.Watchdog(t, hangBound)
	r, c := countRing(t, 1)
	killedAt(t, r, stepJoinCounted, "join")
	p, err := r.Producer()
	if err != nil {
		t.Fatalf("Producer after a producer process died joining = %v\n%s", err, xpDump(r))
	}
	ctx := xpBounded(t)
	msg := make([]byte, killMsgSize)
	encodeMessage(msg, xpSeq(killedStream, 0))
	if err := p.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := recvEnd(t, r, c); !errors.Is(err, ErrClosed) {
		t.Fatalf("the end of the stream = %v, want ErrClosed\n%s", err, xpDump(r))
	}
}

// TestMPMCACleanLastCloseAfterAKilledJoinOrLeaveSaysClosed: a producer
// process killed half-way through joining or leaving, beside a live
// producer that then closes: the stream ends closed, as when the killed
// one dies attached (its entry is reaped by the closing producer). The
// count the killed one left one too high kept the close from being the
// last, and a consumer's reconcile then ended the stream as peer dead (a
// reviewer); so did a consumer's reconcile that held the killed one's
// entry lock just then (the closing producer now looks again).
func TestMPMCACleanLastCloseAfterAKilledJoinOrLeaveSaysClosed(t *testing.T) {
	requireStepHook(t)
	proctest.Watchdog(t, hangBound)
	for _, tc := range []struct {
		at    step
		when  string
		swept bool // a consumer's reconcile holds the killed one's entry lock as the last one closes
	}{{stepJoinCounted, "join", false}, {stepLeaveFreed, "leave", false}, {stepLeaveFreed, "leave", true}} {
		t.Run(fmt.Sprintf("%v swept %v", tc.at, tc.swept), func(t *testing.T) {
			r, c := countRing(t, 2)
			last, err := r.Producer() // entry 0: the killed one takes entry 1
			if err != nil {
				t.Fatal(err)
			}
			killedAt(t, r, tc.at, tc.when)
			if tc.swept {
				other, err := Open(r.Name())
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				held, err := other.lockAt(entryLockByte(1))
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					time.Sleep(5 * time.Millisecond) // a few of the closing producer's looks
					other.unlockAt(entryLockByte(1), held)
				}()
			}
			if err := last.Close(); err != nil {
				t.Fatal(err)
			}
			if err := recvEnd(t, r, c); !errors.Is(err, ErrClosed) {
				t.Fatalf("the end of the stream = %v, want ErrClosed\n%s", err, xpDump(r))
			}
		})
	}
}

// TestMPMCAConsumerKilledJoiningLeavesTheRoleFree: the consumers' side of
// TestMPMCKilledAtJoinLeavesTheRoleFree. A consumer process killed inside
// Consumer() after counting itself, on a ring of one consumer: the next
// Consumer() takes the role; on a ring of two, a live consumer's wait
// brings the count back to the entries attached.
func TestMPMCAConsumerKilledJoiningLeavesTheRoleFree(t *testing.T) {
	requireStepHook(t)
	proctest.Watchdog(t, hangBound)
	t.Run("one consumer", func(t *testing.T) {
		r := newTestRing(t, Options{Kind: MPSC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1})
		killedAt(t, r, stepJoinCounted, "join-consumer")
		c, err := r.Consumer()
		if err != nil {
			t.Fatalf("Consumer after a consumer process died joining = %v\n%s", err, xpDump(r))
		}
		c.Close()
	})
	t.Run("two consumers", func(t *testing.T) {
		r, c := countRing(t, 1)
		killedAt(t, r, stepJoinCounted, "join-consumer")
		if n := r.word32(layout.MPMCConsumersOffset).Load(); n != 2 {
			t.Fatalf("consumers counted after the killed join = %d, want 2 (the killed one's left over)", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopWait) // many ticks of its wait
		defer cancel()
		if _, err := c.Recv(ctx, make([]byte, killMsgSize)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv on the empty ring = %v, want the context's deadline", err)
		}
		if n := r.word32(layout.MPMCConsumersOffset).Load(); n != 1 {
			t.Fatalf("consumers counted after a consumer waited = %d, want 1", n)
		}
	})
}

// TestMPMCCloseEndsAJoinWaitingForAnEntryToSettle: a Producer() call that
// waits for a dead holder's entry to be let go (a reaper holds its lock)
// returns ErrClosed when the Ring closes. It held the Ring's lock for the
// whole wait, so Close waited behind it and the call said ErrBusy.
func TestMPMCCloseEndsAJoinWaitingForAnEntryToSettle(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: killSlots, MaxProducers: 1, MaxConsumers: 1})
	holder := proctest.Start(t, "count-producer", r.Name(), "none", "hold")
	holder.Expect("ready")
	holder.Kill()
	<-holder.Done()
	other, err := Open(r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	held, err := other.lockAt(entryLockByte(0)) // a reaper at work on the dead producer's entry
	if err != nil {
		t.Fatal(err)
	}
	defer other.unlockAt(entryLockByte(0), held)
	got := make(chan error)
	go func() {
		_, err := r.Producer()
		got <- err
	}()
	time.Sleep(20 * time.Millisecond) // the call is waiting (or will find the Ring closed: the same answer)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("Producer waiting for an entry when the Ring closed = %v, want ErrClosed", err)
	}
}
