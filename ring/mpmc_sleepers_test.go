package ring

import (
	"sync/atomic"
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestMPMCDeadSleepersCostOneWake: announcements left by sleepers that
// died (they never withdraw) make the next publish wake once and clear the
// count; the publishes after it make no system call.
func TestMPMCDeadSleepersCostOneWake(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 8, Options{MaxProducers: 1, MaxConsumers: 1})
		p, c := mustProducer(t, r), mustConsumer(t, r)
		defer p.Close()
		defer c.Close()
		ph := mpmcHandleOf(p)
		for range 3 { // three sleepers killed while announced
			announce(ph.dataSleepers)
		}
		announce(ph.spaceSleepers)
		for i := range 4 {
			if err := p.TrySend([]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.TryRecv(make([]byte, 16)); err != nil {
				t.Fatal(err)
			}
		}
		if n := layout.SleepersCount(ph.dataSleepers.Load()); n != 0 {
			t.Errorf("DataSleepers count = %d after a publish, want 0", n)
		}
		if n := layout.SleepersCount(ph.spaceSleepers.Load()); n != 0 {
			t.Errorf("SpaceSleepers count = %d after a release, want 0", n)
		}
		if w := p.Stats().Wakes; w != 1 {
			t.Errorf("producer made %d wakes for 4 messages, want 1 (the dead sleepers' only)", w)
		}
		if w := c.Stats().Wakes; w != 1 {
			t.Errorf("consumer made %d wakes for 4 releases, want 1", w)
		}
	})
}

// TestMPMCSleepersWord: the epoch and count protocol of one Sleepers word.
func TestMPMCSleepersWord(t *testing.T) {
	var s atomic.Uint32
	a := announce(&s)
	b := announce(&s)
	if got := layout.SleepersCount(s.Load()); got != 2 {
		t.Fatalf("count after two announcements = %d, want 2", got)
	}
	withdraw(&s, b)
	if got := layout.SleepersCount(s.Load()); got != 1 {
		t.Fatalf("count after one withdrew = %d, want 1", got)
	}
	// A waker clears the count and starts a new epoch; a sleeper then
	// announces in it. The first sleeper's late withdrawal must not take
	// the new one's announcement back.
	s.Store(layout.NextSleepersEpoch(s.Load()))
	c := announce(&s)
	if c == a {
		t.Fatal("a new announcement got the cleared epoch")
	}
	withdraw(&s, a)
	if got := layout.SleepersCount(s.Load()); got != 1 {
		t.Errorf("count = %d after a withdrawal from a cleared epoch, want 1 (the new sleeper's)", got)
	}
	withdraw(&s, c)
	withdraw(&s, c) // once too often: never below zero, never into the epoch bits
	if w := s.Load(); layout.SleepersCount(w) != 0 || layout.SleepersEpoch(w) != c {
		t.Errorf("word = %#x after withdrawing, want epoch %d count 0", w, c)
	}
	// A count at its maximum stays there (not zero: a waker still wakes).
	s.Store(7<<layout.SleepersEpochShift | layout.SleepersCountMask)
	if e := announce(&s); e != 7 || s.Load() != 7<<layout.SleepersEpochShift|layout.SleepersCountMask {
		t.Errorf("announce at the maximum count: epoch %d, word %#x; want 7 and the word unchanged", e, s.Load())
	}
}
