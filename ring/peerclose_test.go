package ring

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestACleanCloseIsNeverTakenForDeath: a consumer probing the producer's
// liveness while the producer attaches and closes over and over, in
// another Ring handle (its own open file description, as another process
// has), never gets ErrPeerDead. A close stores StateClosed and then
// unlocks; a probe that loaded StateAttached before the store and probed
// the lock after the unlock used to report a dead producer (ringbench
// frames met it once at the end of a clean stream). The same for a
// broadcast reader probing its producer, and an MPSC producer probing
// its consumer.
func TestACleanCloseIsNeverTakenForDeath(t *testing.T) {
	const rounds = 20000
	for _, o := range []Options{
		{Kind: SPSC, SlotSize: 64, Slots: 8},
		{Kind: Broadcast, SlotSize: 64, Slots: 8},
		{Kind: MPSC, SlotSize: 64, Slots: 8},
	} {
		t.Run(o.Kind.String(), func(t *testing.T) {
			r := newTestRing(t, o)
			other, err := Open(r.Name())
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			var probe func() error
			cycle := func() error { // the role another handle takes and leaves
				p, err := r.Producer()
				if err != nil {
					return err
				}
				return p.Close()
			}
			switch o.Kind {
			case MPSC:
				p, err := other.Producer()
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				probe = p.e.(*mpmcProducer).probe
				cycle = func() error {
					c, err := r.Consumer()
					if err != nil {
						return err
					}
					return c.Close()
				}
			case SPSC:
				c, err := other.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				probe = c.e.(*spscConsumer).peerDead
			default:
				rd, err := other.Reader(ReaderOptions{Policy: Lossy})
				if err != nil {
					t.Fatal(err)
				}
				defer rd.Close()
				probe = rd.producerDead
			}
			var done, stop atomic.Bool
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer done.Store(true)
				for i := 0; i < rounds && !stop.Load(); i++ {
					if err := cycle(); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			probes := 0
			for !done.Load() {
				probes++
				if err := probe(); err != nil {
					stop.Store(true)
					wg.Wait()
					t.Fatalf("probe %d, while the other role attaches and closes cleanly: %v", probes, err)
				}
			}
			wg.Wait()
			t.Logf("%d probes over %d attach/close rounds", probes, rounds)
		})
	}
}
