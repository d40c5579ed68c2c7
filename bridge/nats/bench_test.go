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

// BenchmarkThroughput sets what an Out bridge forwards from a ring to a
// subject beside what nats.go itself publishes from a loop, to the same
// embedded server (no subscriber: the server's intake is the limit for
// both). b.N messages go each of three ways, in turns of one ringful (4 MiB
// of payload, but 1024 to 16384 messages: a few milliseconds), the order
// of the three rotating from turn to turn, so that all three see the same
// machine: where other work shares it, its speed changes by the minute,
// and runs of each way seconds apart differ by more than the bridge does.
//
//   - nats.go: a loop of nc.Publish, then a flush.
//   - bridge: Out.Run forwards a ring filled beforehand, up to its end of
//     stream, and flushes. The filling is not timed: deployed, the
//     producer is another process, on cores of its own where the machine
//     has more than two; here its writes would take CPU from the bridge
//     and the server, which is not the bridge's cost.
//   - bridge+producer: the same with a producer goroutine writing the
//     ringful (in batches of 64) meanwhile: what two shared cores give
//     when they carry the producer too.
//
// Each turn ends with one flush round trip in all three ways. The metrics
// are each way's rate over its own timed turns and the two ratios to
// nats.go; ns/op is not meaningful here and is reported as 0.
func BenchmarkThroughput(b *testing.B) {
	srv := natstest.Start(b, natstest.Config{})
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) { benchThroughput(b, srv, size) })
	}
}

func benchThroughput(b *testing.B, srv *natstest.Server, size int) {
	msg := make([]byte, size)
	msgcheck.Stamp(msg, 1)
	nc := connect(b, srv.URL())
	src := newRing(b, ring.Options{Kind: ring.SPSC, SlotSize: size, Slots: min(1<<14, max(1<<10, 4<<20/size))})
	out, err := NewOut(connect(b, srv.URL()), src, OutOptions{Subject: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	ringful := make([][]byte, src.Slots())
	for i := range ringful {
		ringful[i] = msg
	}
	ctx := context.Background()

	var took [3]time.Duration // nats.go, bridge, bridge+producer
	ways := [3]func(n int){
		func(n int) {
			start := time.Now()
			for range n {
				if err := nc.Publish("bench", msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := nc.FlushTimeout(time.Minute); err != nil {
				b.Fatal(err)
			}
			took[0] += time.Since(start)
		},
		func(n int) {
			fill(b, src, ringful[:n])
			start := time.Now()
			if err := out.Run(ctx); err != nil {
				b.Fatal(err)
			}
			took[1] += time.Since(start)
		},
		func(n int) {
			p, err := src.Producer()
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- sendAll(p, ringful[:n], 64) }()
			if err := out.Run(ctx); err != nil {
				b.Fatal(err)
			}
			took[2] += time.Since(start)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		},
	}
	b.ResetTimer()
	for turn, left := 0, b.N; left > 0; turn++ {
		n := min(left, len(ringful))
		for i := range ways {
			ways[(turn+i)%len(ways)](n)
		}
		left -= n
	}
	b.StopTimer()
	if c := out.Counters(); c.Messages != 2*uint64(b.N) {
		b.Fatalf("the bridge published %d of %d", c.Messages, 2*b.N)
	}
	rate := func(d time.Duration) float64 { return float64(b.N) / d.Seconds() }
	b.ReportMetric(rate(took[0]), "nats.go-msgs/s")
	b.ReportMetric(rate(took[1]), "bridge-msgs/s")
	b.ReportMetric(rate(took[2]), "bridge+producer-msgs/s")
	b.ReportMetric(took[0].Seconds()/took[1].Seconds(), "bridge/nats.go")
	b.ReportMetric(took[0].Seconds()/took[2].Seconds(), "bridge+producer/nats.go")
	b.ReportMetric(0, "ns/op")
}

// fill writes msgs into r, which has room for all of them, and ends the
// stream, so that an Out bridge's Run forwards them and returns.
func fill(b *testing.B, r *ring.Ring, msgs [][]byte) {
	p, err := r.Producer()
	if err != nil {
		b.Fatal(err)
	}
	if err := sendAll(p, msgs, len(msgs)); err != nil {
		b.Fatal(err)
	}
}

// sendAll sends msgs through p, at most batch at a time, and ends the
// stream.
func sendAll(p *ring.Producer, msgs [][]byte, batch int) error {
	for sent := 0; sent < len(msgs); {
		n, err := p.SendBatch(context.Background(), msgs[sent:min(len(msgs), sent+batch)])
		if err != nil {
			return err
		}
		sent += n
	}
	return p.Close()
}
