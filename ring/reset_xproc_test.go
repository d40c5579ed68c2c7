//go:build linux

package ring

// The misuse the issue names, end to end: two goroutines share one SPSC
// Producer, the ring is refused with ErrCorrupt by every process, Reset
// brings it back, and two processes stream through it again.

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

// misuseAttempts bounds the attempts to wreck a ring by sharing a Producer.
const misuseAttempts = 20_000

// wreckByMisuse does what the Producer's documentation forbids: two
// goroutines call TrySend on one Producer at the same moment, attempt after
// attempt, on a one-slot ring that a consumer drains between attempts. The
// handle's head and limit are plain fields: when both senders pass the
// "not full" check before either moves head on, head ends a slot past the
// lap and the cursor stored from it is more than a lap ahead of the
// consumer's, for good. It reports whether taking the producer role is
// ErrCorrupt afterwards.
func wreckByMisuse(t *testing.T, r *Ring) bool {
	t.Helper()
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	// Attempt k: both goroutines arrive at a barrier (arrived reaches 2k),
	// wait a few nanoseconds that vary from attempt to attempt, each by its
	// own rule, so that across attempts the two calls line up at every
	// offset, and send once. The barrier orders every other access to p:
	// between attempts only the test's goroutine touches it.
	var arrived, sent atomic.Int64
	var quit atomic.Bool
	helperFull := make([]bool, misuseAttempts+1)
	go func() {
		m := make([]byte, 32)
		encodeMessage(m, ^uint64(1)) // never a sequence a stream test expects
		for k := int64(1); k <= misuseAttempts; k++ {
			if !misuseBarrier(&arrived, 2*k, &quit) {
				return
			}
			misuseDelay(k / 37 % 37)
			helperFull[k] = errors.Is(p.TrySend(m), ErrFull)
			sent.Store(k)
		}
	}()
	defer quit.Store(true)
	m := make([]byte, 32)
	encodeMessage(m, ^uint64(2))
	buf := make([]byte, r.SlotSize())
	for k := int64(1); k <= misuseAttempts; k++ {
		misuseBarrier(&arrived, 2*k, &quit)
		misuseDelay(k % 37)
		full := errors.Is(p.TrySend(m), ErrFull)
		for i := 0; sent.Load() < k; i++ {
			if i%64 == 63 {
				runtime.Gosched()
			}
		}
		drained := 0
		for ; ; drained++ {
			_, err := c.TryRecv(buf)
			if errors.Is(err, ErrEmpty) {
				break
			}
			if err != nil { // the consumer sees the wreck first
				t.Logf("attempt %d: %v", k, err)
				p.Close()
				c.Close()
				_, err := r.Producer()
				return errors.Is(err, ErrCorrupt)
			}
		}
		if full && helperFull[k] && drained == 0 {
			// Lost updates left head past the cursor it stored: the
			// handle reports full for ever. A new one starts at the cursor.
			p.Close()
			if p, err = r.Producer(); err != nil {
				return errors.Is(err, ErrCorrupt)
			}
		}
	}
	p.Close()
	c.Close()
	return false
}

// misuseBarrier counts this goroutine in and waits until the count reaches
// want, yielding now and then: the machine may have fewer free cores than
// spinners. False if told to quit.
func misuseBarrier(arrived *atomic.Int64, want int64, quit *atomic.Bool) bool {
	arrived.Add(1)
	for i := 0; arrived.Load() < want; i++ {
		if quit.Load() {
			return false
		}
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	return true
}

// misuseDelay spins for about n atomic operations.
func misuseDelay(n int64) {
	var x atomic.Int64
	for range n {
		x.Add(1)
	}
}

// TestResetRecoversAnSPSCRingThatTwoGoroutinesOnOneProducerWrecked
// reproduces the misuse (or, under the race detector, which rightly
// reports it, and if it does not happen within the attempts, wrecks the
// cursors the same way through a second mapping of the file); checks that
// the roles are ErrCorrupt in this process and in another; makes every
// slot's seq claim the position it holds next after a reset, the worst a
// wrecked producer could leave; resets the ring with no role held; and
// streams 10^5 messages from a producer process to a consumer process
// through it: sequence numbers, lengths and CRC-32C all checked, nothing
// lost, duplicated or stale, and the stream ends with ErrClosed.
func TestResetRecoversAnSPSCRingThatTwoGoroutinesOnOneProducerWrecked(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 128, Slots: 1}) // every send is at the lap boundary
	switch {
	case raceEnabled:
		t.Log("race detector on: it reports the shared Producer (as it should), so the cursors are wrecked through a second mapping")
		wreckThroughMapping(t, r)
	case !wreckByMisuse(t, r):
		t.Logf("two goroutines on one Producer did not wreck the ring in %d attempts; wrecking the cursors through a second mapping", misuseAttempts)
		wreckThroughMapping(t, r)
	}
	prod, cons := r.side(producerRole).cursor.Load(), r.side(consumerRole).cursor.Load()
	t.Logf("wrecked: producer cursor=%d consumer cursor=%d slots=%d", prod, cons, r.Slots())
	if _, err := r.Producer(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Producer on the wrecked ring = %v, want ErrCorrupt", err)
	}
	if _, err := r.Consumer(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Consumer on the wrecked ring = %v, want ErrCorrupt", err)
	}
	other := proctest.Start(t, "take-role", r.Name(), "producer")
	if line, err := other.ReadLine(); err != nil || !strings.HasPrefix(line, "error: ") || !strings.Contains(line, ErrCorrupt.Error()) {
		t.Fatalf("Producer in another process said %q (%v), want an ErrCorrupt error", line, err)
	}
	if err := other.Wait(); err != nil {
		t.Fatal(err)
	}

	n := uint64(r.Slots())
	want := wreckedPosition(r, prod, cons)
	s := newScribbler(t, r)
	for i := range n {
		s.put32(slotOffset(r, i)+layout.SlotSeqOffset, uint32(want+i+1))
	}
	if err := Reset(r.Name()); err != nil {
		t.Fatalf("Reset(%q) with no role held = %v, want nil", r.Name(), err)
	}
	if p, c := r.side(producerRole).cursor.Load(), r.side(consumerRole).cursor.Load(); p != want || c != want {
		t.Errorf("after Reset the cursors are producer=%d consumer=%d, want both %d", p, c, want)
	}

	c, err := r.Consumer()
	if err != nil {
		t.Fatalf("Consumer after Reset: %v", err)
	}
	if k, err := c.TryRecv(make([]byte, r.SlotSize())); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryRecv on the reset ring = %d, %v; want ErrEmpty (no stale message)", k, err)
	}
	total := uint64(100_000)
	if raceEnabled {
		total = 10_000
	}
	seed := integritySeed()
	child := proctest.Start(t, "integrity-producer", r.Name(), "mixed",
		strconv.FormatUint(total, 10), strconv.FormatUint(seed, 10))
	ctx := context.Background()
	rx := newStreamReceiver(c, seed, total, child)
	if err := rx.run(ctx, "mixed"); err != nil {
		t.Fatalf("seed=%d: %v", seed, err)
	}
	if err := rx.end(ctx, "mixed"); err != nil {
		t.Fatalf("seed=%d: %v", seed, err)
	}
	ps := readStats(t, child)
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	if ps.Messages != total {
		t.Errorf("producer Stats().Messages=%d, want %d", ps.Messages, total)
	}
}

// wreckThroughMapping leaves what the misuse leaves: stale messages, and a
// producer cursor stored more than a lap past the consumer's.
func wreckThroughMapping(t *testing.T, r *Ring) {
	t.Helper()
	if p, c := r.side(producerRole).cursor.Load(), r.side(consumerRole).cursor.Load(); p != c {
		t.Fatalf("setup: producer cursor=%d consumer cursor=%d, want an empty ring to fill", p, c)
	}
	fillStale(t, r)
	cons := r.side(consumerRole).cursor.Load()
	newScribbler(t, r).put64(layout.ProducerCursorOffset, cons+uint64(r.Slots())+2)
}

// TestResetRefusesWhileAnotherProcessHoldsARole has a child process hold a
// role: Reset (the method and the package-level function) returns ErrBusy
// naming it and changes no byte of the ring. Once the child is killed the
// role's lock is gone with it, and Reset takes the dead holder's role over.
func TestResetRefusesWhileAnotherProcessHoldsARole(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	cases := []struct {
		kind  resetKind
		role  string
		named string
	}{
		{resetKinds[0], "consumer", "role=consumer:"},
		{resetKinds[1], "producer", "role=producer entry=0:"},
	}
	for _, tc := range cases {
		t.Run(tc.kind.name+" "+tc.role, func(t *testing.T) {
			r := newTestRing(t, tc.kind.o)
			fillStale(t, r)
			holder := proctest.Start(t, "take-role", r.Name(), tc.role)
			holder.Expect("held")
			before := bytes.Clone(r.mem)
			for what, reset := range map[string]func() error{"Ring.Reset": r.Reset, "Reset(name)": func() error { return Reset(r.Name()) }} {
				if err := reset(); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), tc.named) {
					t.Fatalf("%s while another process holds the %s = %v, want ErrBusy naming %q", what, tc.role, err, tc.named)
				}
			}
			if !bytes.Equal(before, r.mem) {
				t.Fatal("a refused Reset changed the ring")
			}
			holder.Kill()
			if err := holder.Wait(); err == nil {
				t.Fatal("the killed holder exited with status 0")
			}
			if err := r.Reset(); err != nil {
				t.Fatalf("Reset after the holder died = %v, want nil", err)
			}
			streamAfterReset(t, r, 1_000)
		})
	}
}
