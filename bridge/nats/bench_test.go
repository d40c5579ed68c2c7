package natsbridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// BenchmarkThroughput sets what an Out bridge publishes from a ring beside
// what nats.go itself publishes from a loop, to the same embedded server
// in the same run (no subscriber: the server's intake is the limit for
// both). The bridge's run includes its producer, a goroutine filling the
// ring, and ends when the bridge has flushed the last message.
func BenchmarkThroughput(b *testing.B) {
	srv := natstest.Start(b, natstest.Config{})
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("nats.go-publish/size=%d", size), func(b *testing.B) {
			nc := connect(b, srv.URL())
			msg := make([]byte, size)
			msgcheck.Stamp(msg, 1)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := nc.Publish("bench", msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := nc.FlushTimeout(time.Minute); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
		b.Run(fmt.Sprintf("bridge-out/size=%d", size), func(b *testing.B) {
			src := newRing(b, ring.Options{Kind: ring.SPSC, SlotSize: size, Slots: 1 << 12})
			out, err := NewOut(connect(b, srv.URL()), src, OutOptions{Subject: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer out.Close()
			p, err := src.Producer()
			if err != nil {
				b.Fatal(err)
			}
			msg := make([]byte, size)
			msgcheck.Stamp(msg, 1)
			// The producer sends in batches of 64 (one cursor store each):
			// it shares the two cores with the bridge and the server, and
			// what is measured is the bridge's forwarding, not the
			// producer's per-message cost.
			batch := make([][]byte, 64)
			for i := range batch {
				batch[i] = msg
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			run := start(out.Run)
			go func() {
				ctx := context.Background()
				for left := b.N; left > 0; {
					n, err := p.SendBatch(ctx, batch[:min(left, len(batch))])
					if err != nil {
						panic(err)
					}
					left -= n
				}
				p.Close()
			}()
			if err := run.wait(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if c := out.Counters(); c.Messages != uint64(b.N) {
				b.Fatalf("bridge published %d of %d", c.Messages, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
