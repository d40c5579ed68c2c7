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

func sendRecv(b *testing.B, size int) {
	name := fmt.Sprintf("shmring-test-guardcost-%d", os.Getpid())
	o := ring.Options{Kind: ring.SPSC, SlotSize: size, Slots: 1024}
	unguarded(&o)
	telemetry(&o)
	r, err := ring.Create(name, o)
	if err != nil {
		b.Fatal(err)
	}
	defer ring.Remove(name)
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		b.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		b.Fatal(err)
	}
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
