package ring

// Two goroutines streaming through a heap ring, which the race detector
// sees (it cannot see accesses through an mmap'd file): CI runs this under
// `go test -race`. Small rings keep both sides running into full and
// empty, so the waiting and waking paths run as often as the data path.

import (
	"context"
	"fmt"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// TestRaceStreamingBetweenGoroutines streams messages of random lengths
// from a producer goroutine to a consumer goroutine through rings of 1, 2
// and 8 slots, under each wait strategy, through the copying, zero-copy,
// batch and randomly mixed calls, checking every message's sequence number,
// length, checksum and bytes, and the end of the stream.
func TestRaceStreamingBetweenGoroutines(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	n := uint64(30_000)
	if raceEnabled {
		n = 4_000
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
	paths := []struct{ name, producer, consumer string }{
		{"Send to Recv", "send", "recv"},
		{"Claim to Receive", "claim", "receive"},
		{"ClaimBatch to ReceiveBatch", "claimbatch", "receivebatch"},
		{"SendBatch to Recv", "sendbatch", "recv"},
	}
	seed := integritySeed()
	i := 0
	for _, records := range []bool{false, true} {
		for _, slots := range []int{1, 2, 8} {
			for _, w := range waits {
				run := []struct{ name, producer, consumer string }{
					paths[i%len(paths)],
					{"every call mixed", "mixed", "mixed"},
				}
				i++
				for _, path := range run {
					name := fmt.Sprintf("%d slots with %s, %s", slots, w.name, path.name)
					if records {
						name = "a record ring of as many: " + name
					}
					seed := seed + uint64(i)*31 + uint64(len(path.producer))
					n := n
					if w.w.Sleep && w.w.Spin == 0 {
						n /= 3 // a futex round trip per message or so: the slow case
					}
					t.Run(name, func(t *testing.T) {
						_, p, c := newAPIRing(t, 64, slots)
						if records {
							_, p, c = newAPIRecordRing(t, 64, slots)
						}
						p.SetWait(w.w)
						c.SetWait(w.w)
						ctx, cancel := context.WithCancel(context.Background())
						defer cancel()
						done := make(chan error, 1)
						go func() {
							err := newStreamSender(p, seed, n).run(ctx, path.producer)
							p.Close() // ends the stream early on an error, so the consumer stops
							done <- err
						}()
						rx := newStreamReceiver(c, seed, n, nil)
						rerr := rx.run(ctx, path.consumer)
						if rerr == nil {
							rerr = rx.end(ctx, path.consumer)
						}
						if rerr != nil {
							cancel() // a producer waiting on a full ring would wait forever
						}
						if err := <-done; err != nil && rerr == nil {
							t.Fatalf("seed=%d producer: %v", seed, err)
						}
						if rerr != nil {
							t.Fatalf("seed=%d consumer: %v", seed, rerr)
						}
						t.Logf("%d messages; producer %+v; consumer %+v", n, p.Stats(), c.Stats())
					})
				}
			}
		}
	}
}
