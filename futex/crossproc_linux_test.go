package futex_test

import (
	"math"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmring/shmring/futex"
	"github.com/shmring/shmring/internal/proctest"
)

func TestStoreAndWakeReachAChildAsleepInAnotherProcess(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	path := newShmFile(t)
	w := mapForTest(t, path)
	c := proctest.Start(t, "sleep-until-set", path)
	c.Expect("ready")
	awaitSleepers(t, w.ping, 0, false, 1)
	n, err := publish(w.ping, w.pingWaiters, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n > 1 {
		t.Errorf("publish woke %d, want at most the one child", n)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestPingPongAcrossProcessesLosesNoWakeup runs the protocol of doc.go with
// both sides sleeping every round; a lost wake-up would hang it (and the
// watchdog would fail it), a wrong value fails the sequence check.
func TestPingPongAcrossProcessesLosesNoWakeup(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	const rounds = 1000
	path := newShmFile(t)
	w := mapForTest(t, path)
	c := proctest.Start(t, "pingpong", path, strconv.Itoa(rounds))
	c.Expect("ready")
	wakes := 0
	for i := uint32(1); i <= rounds; i++ {
		n, err := publish(w.ping, w.pingWaiters, i)
		if err != nil {
			t.Fatal(err)
		}
		wakes += n
		v, err := await(w.pong, w.pongWaiters, i-1)
		if err != nil {
			t.Fatal(err)
		}
		if v != i {
			t.Fatalf("round %d: pong = %d, want %d", i, v, i)
		}
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rounds, the parent woke the child %d times", rounds, wakes)
}

// TestPrivateWakeCannotReachASharedSleeperInAnotherProcess shows why the
// package never sets FUTEX_PRIVATE_FLAG: a private wake looks for waiters
// keyed by (this address space, address) and so cannot find a sleeper in
// another process, even while it is certainly asleep on the same word.
func TestPrivateWakeCannotReachASharedSleeperInAnotherProcess(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	path := newShmFile(t)
	w := mapForTest(t, path)
	c := proctest.Start(t, "sleep-shared", path)
	c.Expect("ready")
	for round := range 10 {
		awaitSleepers(t, w.ping, 0, false, 1)
		if n, err := futex.WakeFlags(w.ping, math.MaxInt32, true); n != 0 || err != nil {
			t.Fatalf("round %d: private wake with the child asleep = %d, %v; want 0, nil", round, n, err)
		}
		if n, err := futex.Sleepers(w.ping, 0, true); n != 0 || err != nil {
			t.Fatalf("round %d: private probe with the child asleep = %d, %v; want 0, nil", round, n, err)
		}
		wakeUntil(t, w.ping, 1) // the shared wake does reach it; it sleeps again
	}
	// The child keeps no waiter count, so wake it until it has gone.
	atomic.StoreUint32(w.ping, 1)
	for !c.Exited() {
		if _, err := futex.Wake(w.ping, 1); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Microsecond)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestSharedWakeCannotReachAPrivateSleeperInAnotherProcess is the converse:
// a sleeper that used the private flavour is invisible to the shared wake of
// another process; only its own process can wake it.
func TestSharedWakeCannotReachAPrivateSleeperInAnotherProcess(t *testing.T) {
	proctest.Watchdog(t, watchdogBound)
	path := newShmFile(t)
	w := mapForTest(t, path)
	c := proctest.Start(t, "sleep-private", path)
	c.Expect("ready")
	for round := range 10 {
		if err := c.WriteLine("probe"); err != nil {
			t.Fatal(err)
		}
		c.Expect("asleep")
		if n, err := futex.Wake(w.ping, math.MaxInt32); n != 0 || err != nil {
			t.Fatalf("round %d: shared wake with the child asleep privately = %d, %v; want 0, nil", round, n, err)
		}
		if n, err := futex.Sleepers(w.ping, 0, false); n != 0 || err != nil {
			t.Fatalf("round %d: shared probe with the child asleep privately = %d, %v; want 0, nil", round, n, err)
		}
	}
	if err := c.WriteLine("release"); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
}
