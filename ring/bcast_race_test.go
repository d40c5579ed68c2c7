//go:build linux

package ring

// A producer goroutine and reader goroutines on a heap ring, which the race
// detector sees. Lossless readers synchronise with the producer through
// their cursors and the slots' seq words, so -race checks them. A lossy
// reader's reads of a slot the producer is rewriting are races by design
// (the seqlock discards what they read): lossy readers join only in builds
// without the race detector.

import (
	"context"
	"fmt"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// TestBroadcastGoroutinesStream: one producer and several readers of each
// policy, on rings of 1, 2 and 16 slots, under each wait strategy: every
// lossless reader gets every message whole and in order; every lossy reader
// an in-order subsequence whose gaps its laps count exactly.
func TestBroadcastGoroutinesStream(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	n := uint64(40_000)
	if raceEnabled {
		n = 5_000
	}
	if longRun() {
		n *= 10
	}
	waits := []struct {
		name string
		w    WaitStrategy
	}{
		{"DefaultWait", DefaultWait},
		{"WaitSleep", WaitSleep},
		{"polling", WaitStrategy{Spin: 64, Yield: 4, Sleep: false}},
	}
	modes := []string{"recv", "receive", "batch", "tryrecv"}
	for _, records := range []bool{false, true} {
		for _, slots := range []int{1, 2, 16} {
			for wi, w := range waits {
				name := fmt.Sprintf("%d slots with %s", slots, w.name)
				if records {
					name = "a record ring of as many: " + name
				}
				t.Run(name, func(t *testing.T) {
					n := n
					if w.w.Spin == 0 {
						n /= 4
					}
					r := newBcastRing(t, true, 64, slots, 8)
					if records {
						r = newBcastRecordRing(t, 64, slots)
					}
					var cs []*bcastChecker
					var names []string
					for i := range 2 {
						rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
						rd.SetWait(w.w)
						cs = append(cs, newBcastChecker(rd, 0, 64, true))
						names = append(names, "lossless "+modes[(i+wi)%len(modes)])
					}
					if !raceEnabled {
						for i := range 2 {
							rd := mustReader(t, r, ReaderOptions{Policy: Lossy})
							rd.SetWait(w.w)
							cs = append(cs, newBcastChecker(rd, 0, 64, false))
							names = append(names, "lossy "+modes[(i+wi+2)%len(modes)])
						}
					}
					p := mustProducer(t, r)
					p.SetWait(w.w)
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					errs := make(chan error, len(cs))
					for i, c := range cs {
						mode := modes[(i+wi)%len(modes)]
						go func() {
							err := c.run(ctx, mode, n)
							if err != nil {
								cancel() // a producer gated by this reader would wait forever
								err = fmt.Errorf("%s: %w", names[i], err)
							}
							errs <- err
						}()
					}
					perr := bcastSend(ctx, p, 0, n, make([]byte, 64))
					p.Close()
					for range cs {
						if err := <-errs; err != nil {
							t.Error(err)
						}
					}
					if perr != nil {
						t.Fatalf("producer: %v", perr)
					}
					for i, c := range cs {
						if c.delivered+c.missed != n {
							t.Errorf("%s: delivered %d + missed %d != %d published", names[i], c.delivered, c.missed, n)
						}
						if c.lossless && c.missed != 0 {
							t.Errorf("%s: a lossless reader missed %d", names[i], c.missed)
						}
					}
					laps := make([]uint64, len(cs))
					for i, c := range cs {
						laps[i] = c.laps
					}
					t.Logf("%d messages; laps per reader %v; producer %+v", n, laps, p.Stats())
				})
			}
		}
	}
}
