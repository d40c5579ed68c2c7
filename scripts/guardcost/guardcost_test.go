// Package guardcost times one Send and one Recv on one goroutine, the ring
// never full nor empty: what a call costs with nothing else in the way.
// scripts/bench-guard.sh builds it against the engine before and after the
// boundary checks to show their cost per call.
package guardcost

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/shmring/shmring/ring"
)

func BenchmarkSendRecvOneGoroutine(b *testing.B) { sendRecv(b, 8) }

// BenchmarkSendRecvOneGoroutine64 is the same with 64-byte messages, the
// size of the round-trip benchmarks.
func BenchmarkSendRecvOneGoroutine64(b *testing.B) { sendRecv(b, 64) }

// BenchmarkSendBatchReceiveBatch is the batched path on one goroutine:
// SendBatch of 64 8-byte messages, then ReceiveBatch, At of each and one
// Release — the per-message work of a batch, less the batch's own calls.
func BenchmarkSendBatchReceiveBatch(b *testing.B) {
	p, c := pair(b, 8)
	ctx := context.Background()
	const burst = 64
	msgs := make([][]byte, burst)
	for i := range msgs {
		msgs[i] = make([]byte, 8)
	}
	for b.Loop() {
		if n, err := p.SendBatch(ctx, msgs); n != burst || err != nil {
			b.Fatal(n, err)
		}
		ms, err := c.ReceiveBatch(ctx, burst)
		if err != nil || ms.Len() != burst {
			b.Fatal(ms.Len(), err)
		}
		for i := range burst {
			if m, err := ms.At(i); len(m) != 8 || err != nil {
				b.Fatal(len(m), err)
			}
		}
		if err := c.Release(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*burst), "ns/msg")
}

// pair creates a ring of 1024 slots of size bytes, removed when the
// benchmark ends, and takes both its roles.
func pair(b *testing.B, size int) (*ring.Producer, *ring.Consumer) {
	name := fmt.Sprintf("shmring-test-guardcost-%d", os.Getpid())
	o := ring.Options{Kind: ring.SPSC, SlotSize: size, Slots: 1024}
	unguarded(&o)
	telemetry(&o)
	r, err := ring.Create(name, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(); ring.Remove(name) })
	p, err := r.Producer()
	if err != nil {
		b.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		b.Fatal(err)
	}
	return p, c
}

func sendRecv(b *testing.B, size int) {
	p, c := pair(b, size)
	ctx := context.Background()
	msg, buf := make([]byte, size), make([]byte, size)
	const burst = 64 // well under a lap: no call waits
	for b.Loop() {
		for range burst {
			if err := p.Send(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
		for range burst {
			if _, err := c.Recv(ctx, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*burst), "ns/send+recv")
}
