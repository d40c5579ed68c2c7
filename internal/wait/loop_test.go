package wait

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmring/shmring/layout"
)

// cond is a test Waiter: ready once polls reach at, or once set.
type cond struct {
	polls, at int
	set       atomic.Bool
	probes    int
}

func (c *cond) Ready() bool {
	c.polls++
	return c.polls >= c.at || c.set.Load()
}
func (c *cond) Stopped() error { return nil }
func (c *cond) Probe() error   { c.probes++; return nil }

// host is a test Host that counts its sleepers.
type host struct {
	in       int
	sleeping atomic.Int32
}

func (h *host) Enter() error    { h.in++; return nil }
func (h *host) Leave()          { h.in-- }
func (h *host) Sleeping(at int) { h.sleeping.Add(1) }

// TestLoopAllocatesNothing: a wait that ends in each phase allocates
// nothing (the Loop is on the stack, the Waiter and Host pointer-shaped).
// AllocsPerRun counts every goroutine's allocations, the runtime's own
// included: a wait that sleeps in a system call on a loaded machine can
// meet the runtime starting a thread to run the P it left (CI saw "1
// allocation per wait" once in a full run, never alone in 20). So a
// phase passes when one of three measurements is 0; an allocation of
// the loop's own is in all three.
func TestLoopAllocatesNothing(t *testing.T) {
	var sleepers, wake atomic.Uint32
	for _, c := range []struct {
		name string
		cfg  Config
		at   int
	}{
		{"a wait that ends in the spin", Config{Spin: 64, Adaptive: true}, 10},
		{"a wait that ends in the yields", Config{Spin: 4, Yield: 64}, 10},
		{"a wait that ends after a sleep timed out", Config{Sleep: true, Tick: time.Millisecond}, 3},
		{"a wait that ends in the poll phase", Config{Tick: time.Millisecond}, 2000},
	} {
		var est Estimate
		var n uint64
		h := &host{}
		w := &cond{}
		allocs := 1.0
		for try := 0; try < 3 && allocs != 0; try++ {
			allocs = testing.AllocsPerRun(5, func() {
				*w = cond{at: c.at}
				l := Loop{Host: h, Config: &c.cfg, Estimate: &est, Sleeps: &n,
					Sleepers: Sleepers{Word: &sleepers, Wake: &wake, Mode: Flag}}
				if err := l.Run(context.Background(), w); err != nil {
					t.Fatal(err)
				}
			})
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per wait, want 0", c.name, allocs)
		}
		if h.in != 0 {
			t.Errorf("%s: %d waiters left counted in the host, want 0", c.name, h.in)
		}
	}
}

// TestLoopWokenBySleepers: a waiter asleep for an hour-long tick is woken
// by the other side's publish and one WakeAll, and withdraws its
// announcement.
func TestLoopWokenBySleepers(t *testing.T) {
	for _, mode := range []Mode{Flag, Shared, Count} {
		var sleepers, wake atomic.Uint32
		s := Sleepers{Word: &sleepers, Wake: &wake, Mode: mode}
		w := &cond{at: math.MaxInt}
		h := &host{}
		var n uint64
		done := make(chan error, 1)
		go func() {
			l := Loop{Host: h, Config: &Config{Sleep: true, Tick: time.Hour}, Estimate: &Estimate{}, Sleeps: &n, Sleepers: s}
			done <- l.Run(context.Background(), w)
		}()
		watchdog := time.Now().Add(time.Minute) // a lost wake-up hangs: fail instead
		for h.sleeping.Load() == 0 {
			time.Sleep(100 * time.Microsecond) // until it is about to sleep
			if time.Now().After(watchdog) {
				t.Fatalf("mode %d: the waiter never went to sleep", mode)
			}
		}
		// Announced before Sleeping: one publish and one wake must do,
		// whether the waiter is in the futex yet or not.
		w.set.Store(true)
		if !s.WakeAll() {
			t.Fatalf("mode %d: WakeAll found nobody announced", mode)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("mode %d: %v", mode, err)
			}
		case <-time.After(time.Until(watchdog)):
			t.Fatalf("mode %d: the waiter was not woken", mode)
		}
		if n == 0 {
			t.Errorf("mode %d: the wait ended without a sleep counted", mode)
		}
		// Nobody announced: a flag and a count are zero (a shared flag is
		// the waker's to clear; WakeAll did).
		if v := sleepers.Load(); v != 0 && (mode != Count || layout.SleepersCount(v) != 0) {
			t.Errorf("mode %d: sleepers word %#x after the wait, want nobody announced", mode, v)
		}
	}
}

// A sleeper forces a barrier on its wakers exactly when they may publish
// with plain release stores: always for BarrierAlways, never for
// NoBarrier, and for BarrierIfFlagged whenever the waker's flags word says
// FlagReleaseStores at the moment of the sleep (the SPSC publisher
// switches it: ring/fencemode.go), other bits ignored.
func TestBarrierRule(t *testing.T) {
	var flags atomic.Uint32
	for _, tt := range []struct {
		rule  Barrier
		flags uint32
		want  bool
	}{
		{NoBarrier, 0, false},
		{NoBarrier, layout.FlagReleaseStores, false},
		{BarrierAlways, 0, true},
		{BarrierAlways, layout.FlagReleaseStores, true},
		{BarrierIfFlagged, 0, false},
		{BarrierIfFlagged, layout.FlagReleaseStores, true},
		{BarrierIfFlagged, ^layout.FlagReleaseStores, false},
		{BarrierIfFlagged, ^uint32(0), true},
	} {
		flags.Store(tt.flags)
		l := Loop{Barrier: tt.rule, Flags: &flags}
		if got := l.mustBarrier(); got != tt.want {
			t.Errorf("rule %d with flags %#x: mustBarrier = %v, want %v", tt.rule, tt.flags, got, tt.want)
		}
	}
}

// TestPollsProbeOnceATickAtMost: one failure at a position reads no clock
// (a poller that keeps up pays nothing); the second probes; more failures
// there within the tick do not, nor does a second one at a new position;
// once the tick has passed, the 18th failure at a position probes again,
// and the second at a new one would.
func TestPollsProbeOnceATickAtMost(t *testing.T) {
	c := &Config{Tick: time.Hour}
	var p Polls
	due := func(n int, at uint64) (k int) {
		for range n {
			if p.Due(c, at) {
				k++
			}
		}
		return k
	}
	for at := uint64(1); at < 1000; at++ {
		if k := due(1, at); k != 0 {
			t.Fatalf("a probe due at the first failure at position %d, want none (no clock read)", at)
		}
	}
	if p.next != 0 {
		t.Fatal("the clock was read by first failures")
	}
	if k := due(1, 999); k != 1 {
		t.Fatalf("%d probes due at the second failure at a position, want 1", k)
	}
	if k := due(1<<16, 999); k != 0 {
		t.Fatalf("%d more probes due within an hour's tick at one position, want 0", k)
	}
	if k := due(2, 1000); k != 0 {
		t.Fatalf("%d probes due at a new position within the tick, want 0", k)
	}
	p.next = clock() // the tick has passed
	if k := due(15, 1000); k != 0 {
		t.Fatalf("%d probes due in failures 3 to 17 at a position, want 0 (the clock is not read)", k)
	}
	if k := due(1, 1000); k != 1 {
		t.Fatalf("%d probes due at the 18th failure after the tick, want 1", k)
	}
	p.next = clock()
	if k := due(2, 1001); k != 1 {
		t.Fatalf("%d probes due at the second failure at a new position after the tick, want 1", k)
	}
}

// spinCond is a test Spinner: Spun is ready once spun reaches at (never,
// with at zero); Ready is cond's.
type spinCond struct {
	cond
	spun, spunAt int
}

func (c *spinCond) Spun() bool {
	c.spun++
	return c.spunAt > 0 && c.spun >= c.spunAt
}

// TestLoopSpinsWithSpunAndSleepsWithReady: a Spinner's spin phases look
// with Spun alone, so a wait Spun sees ends there without a look with
// Ready; the phases that yield and sleep look with Ready, so a wait Spun
// misses (a producer that stores no seq) still ends.
func TestLoopSpinsWithSpunAndSleepsWithReady(t *testing.T) {
	var sleepers, wake atomic.Uint32
	var est Estimate
	var n uint64
	run := func(cfg Config, w *spinCond) {
		t.Helper()
		l := Loop{Host: &host{}, Config: &cfg, Estimate: &est, Sleeps: &n,
			Sleepers: Sleepers{Word: &sleepers, Wake: &wake, Mode: Flag}}
		if err := l.Run(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	w := &spinCond{cond: cond{at: 1}, spunAt: 10}
	run(Config{Spin: 64, Adaptive: true}, w)
	if w.spun != 10 || w.polls != 0 {
		t.Errorf("a wait Spun sees at its 10th look: Spun looked %d times, Ready %d; want 10 and 0", w.spun, w.polls)
	}
	w = &spinCond{cond: cond{at: 3}}
	run(Config{Spin: 64, Yield: 4, Sleep: true, Tick: time.Millisecond}, w)
	if w.spun != 64 || w.polls != 3 {
		t.Errorf("a wait only Ready sees: Spun looked %d times, Ready %d; want 64 (the spin) and 3", w.spun, w.polls)
	}
}
