package wait

import (
	"sync/atomic"
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestSleepersWord: the epoch and count protocol of one sleepers word (MPMC).
func TestSleepersWord(t *testing.T) {
	var s atomic.Uint32
	a := Announce(&s)
	b := Announce(&s)
	if got := layout.SleepersCount(s.Load()); got != 2 {
		t.Fatalf("count after two announcements = %d, want 2", got)
	}
	Withdraw(&s, b)
	if got := layout.SleepersCount(s.Load()); got != 1 {
		t.Fatalf("count after one withdrew = %d, want 1", got)
	}
	// A waker clears the count and starts a new epoch; a sleeper then
	// announces in it. The first sleeper's late withdrawal must not take
	// the new one's announcement back.
	s.Store(layout.NextSleepersEpoch(s.Load()))
	c := Announce(&s)
	if c == a {
		t.Fatal("a new announcement got the cleared epoch")
	}
	Withdraw(&s, a)
	if got := layout.SleepersCount(s.Load()); got != 1 {
		t.Errorf("count = %d after a withdrawal from a cleared epoch, want 1 (the new sleeper's)", got)
	}
	Withdraw(&s, c)
	Withdraw(&s, c) // once too often: never below zero, never into the epoch bits
	if w := s.Load(); layout.SleepersCount(w) != 0 || layout.SleepersEpoch(w) != c {
		t.Errorf("word = %#x after withdrawing, want epoch %d count 0", w, c)
	}
	// A count at its maximum stays there (not zero: a waker still wakes).
	s.Store(7<<layout.SleepersEpochShift | layout.SleepersCountMask)
	if e := Announce(&s); e != 7 || s.Load() != 7<<layout.SleepersEpochShift|layout.SleepersCountMask {
		t.Errorf("announce at the maximum count: epoch %d, word %#x; want 7 and the word unchanged", e, s.Load())
	}
}
