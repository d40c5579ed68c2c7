package ring

import (
	"testing"

	"github.com/shmring/shmring/internal/wait"
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
			wait.Announce(ph.dataSleepers)
		}
		wait.Announce(ph.spaceSleepers)
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
