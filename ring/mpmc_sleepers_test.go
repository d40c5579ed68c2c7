package ring

import (
	"testing"

	"github.com/shmring/shmring/layout"
)

// TestMPMCDeadSleeperIsTakenOutOfTheCount: a consumer dies at each point of
// announcing itself as a sleeper and withdrawing again, beside a live
// consumer that is counted asleep. Whoever takes the dead one's entry over
// (a joining consumer) or reaps it (a waiting consumer's probe) leaves the
// count at exactly the live sleeper: a dead one left counted would cost
// every later message a FUTEX_WAKE, and a live one dropped from the count
// would miss its wake-up. The deaths next to the add or the subtract
// (Announcing, Withdrawing) leave it open whether the dead one counted:
// those cases go through the recount.
func TestMPMCDeadSleeperIsTakenOutOfTheCount(t *testing.T) {
	type death struct {
		name string
		die  func(h *mpmcHandle) // leaves h's entry as a sleeper killed there would
	}
	deaths := []death{
		{"awake after a whole sleep", func(h *mpmcHandle) { h.announce(h.dataSleepers); h.withdraw(h.dataSleepers) }},
		{"announcing, before its add", func(h *mpmcHandle) { h.ent.sleep.Add(1) }},
		{"announcing, after its add", func(h *mpmcHandle) { h.ent.sleep.Add(1); h.dataSleepers.Add(1) }},
		{"asleep", func(h *mpmcHandle) { h.announce(h.dataSleepers) }},
		{"withdrawing, before its subtract", func(h *mpmcHandle) { h.announce(h.dataSleepers); h.ent.sleep.Add(1) }},
		{"withdrawing, after its subtract", func(h *mpmcHandle) {
			h.announce(h.dataSleepers)
			h.ent.sleep.Add(1)
			h.dataSleepers.Add(^uint32(0))
		}},
		{"asleep the second time", func(h *mpmcHandle) {
			h.announce(h.dataSleepers)
			h.withdraw(h.dataSleepers)
			h.announce(h.dataSleepers)
		}},
	}
	for _, file := range []bool{false, true} {
		for _, how := range []string{"joiner", "reaper"} {
			for _, d := range deaths {
				where := "heap"
				if file {
					where = "file"
				}
				t.Run(where+" ring/"+how+"/"+d.name, func(t *testing.T) {
					r := newMPMCRing(t, MPMC, file, 16, 4, Options{MaxProducers: 1, MaxConsumers: 2})
					p := mustProducer(t, r)
					defer p.Close()
					dead, live := mustConsumer(t, r), mustConsumer(t, r)
					defer live.Close()
					lh, dh := mpmcHandleOf(live), mpmcHandleOf(dead)
					lh.announce(lh.dataSleepers)
					d.die(dh)
					deadEntry := dh.index
					presumeDead(t, dead)
					switch how {
					case "joiner":
						c := mustConsumer(t, r)
						defer c.Close()
						if got := mpmcHandleOf(c).index; got != deadEntry {
							t.Fatalf("the joiner took entry %d, want the dead one's %d", got, deadEntry)
						}
					case "reaper":
						if err := lh.reapDead(0, lh.entries()); err != nil {
							t.Fatal(err)
						}
					}
					if n := lh.dataSleepers.Load(); n != 1 {
						t.Errorf("DataSleepers = %d, want 1 (the live sleeper only)", n)
					}
					if f := dh.ent.sleep.Load(); f&layout.EntrySleepMask != layout.EntryAwake {
						t.Errorf("dead entry's sleep counter = %#x, want state awake", f)
					}
					if f := lh.ent.sleep.Load(); f&layout.EntrySleepMask != layout.EntryAsleep {
						t.Errorf("live entry's sleep counter = %#x, want state asleep", f)
					}
					lh.withdraw(lh.dataSleepers)
					if n := lh.dataSleepers.Load(); n != 0 {
						t.Errorf("DataSleepers = %d after the live sleeper withdrew, want 0", n)
					}
				})
			}
		}
	}
}

// TestMPMCSleeperRecountWaitsForAQuietSnapshot: a recount gives up, and
// leaves the count alone, while a live participant stays in the middle of
// a step (as one stopped there would): a count too high costs system
// calls; one too low would lose a wake-up.
func TestMPMCSleeperRecountWaitsForAQuietSnapshot(t *testing.T) {
	r := newMPMCRing(t, MPMC, false, 16, 4, Options{MaxProducers: 1, MaxConsumers: 2})
	a, b := mustConsumer(t, r), mustConsumer(t, r)
	defer a.Close()
	defer b.Close()
	ah, bh := mpmcHandleOf(a), mpmcHandleOf(b)
	bh.ent.sleep.Add(1) // b stays Announcing
	bh.dataSleepers.Add(1)
	ah.dataSleepers.Add(5) // garbage a recount would remove
	if ah.recountSleepers(ah.dataSleepers, ah.maxP, ah.entries()) {
		t.Fatal("recount succeeded with a participant in the middle of a step")
	}
	if n := ah.dataSleepers.Load(); n != 6 {
		t.Errorf("DataSleepers = %d after a recount that gave up, want 6 (unchanged)", n)
	}
	bh.ent.sleep.Add(1) // b Asleep: quiet
	if !ah.recountSleepers(ah.dataSleepers, ah.maxP, ah.entries()) {
		t.Fatal("recount gave up on a quiet ring")
	}
	if n := ah.dataSleepers.Load(); n != 1 {
		t.Errorf("DataSleepers = %d after the recount, want 1", n)
	}
	bh.withdraw(bh.dataSleepers)
}
