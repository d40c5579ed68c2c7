package ring

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// The sizes and batch widths the SPSC issue asks for; every run also
// measures a buffered Go channel moving the same messages, so the figures
// can be read as ratios taken in the same run on a noisy machine.
var (
	benchSizes   = []int{8, 64, 512, 4096}
	benchBatches = []int{1, 16}
)

// newBenchRing creates a ring file for a benchmark and removes it after.
func newBenchRing(b *testing.B, slotSize, slots int) *Ring {
	b.Helper()
	name := uniqueName(b)
	r, err := Create(name, Options{Kind: SPSC, SlotSize: slotSize, Slots: slots, Unguarded: benchUnguarded,
		Telemetry: Telemetry{SampleEvery: benchSampleEvery}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(); Remove(name) })
	return r
}

// benchUnguarded (SHMRING_BENCH_UNGUARDED=1) runs the benchmark rings, in
// the parent and in the children that inherit the environment, with
// Options.Unguarded: scripts/bench-guard.sh runs one binary both ways to
// show what the fault guard costs.
var benchUnguarded = os.Getenv("SHMRING_BENCH_UNGUARDED") == "1"

// benchSampleEvery (SHMRING_BENCH_TELEMETRY=n) creates the benchmark rings
// with Telemetry.SampleEvery n: scripts/bench-counters.sh runs one binary
// with telemetry off, sampled and on every message.
var benchSampleEvery, _ = strconv.Atoi(os.Getenv("SHMRING_BENCH_TELEMETRY"))

// openBench opens a benchmark ring in a child, guarded as the parent's.
func openBench(name string) (*Ring, error) {
	return OpenWith(name, OpenOptions{Unguarded: benchUnguarded})
}

func reportRate(b *testing.B, msgs int, elapsed time.Duration) {
	b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(msgs), "ns/msg")
}

// BenchmarkThroughputInProcess streams messages from a producer goroutine to
// a consumer goroutine through a mapped ring: the engine's own cost without
// process boundaries. sleeps/op shows the consumer keeping up (0 means the
// stream made no futex call).
func BenchmarkThroughputInProcess(b *testing.B) {
	for _, size := range benchSizes {
		for _, batch := range benchBatches {
			b.Run(fmt.Sprintf("size=%d/batch=%d", size, batch), func(b *testing.B) {
				r := newBenchRing(b, size, 1<<12)
				p, _ := r.Producer()
				c, _ := r.Consumer()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				ctx := context.Background()
				msg := make([]byte, size)
				msgs := make([][]byte, batch)
				for i := range msgs {
					msgs[i] = msg
				}
				n := b.N
				done := make(chan struct{})
				go func() {
					defer close(done)
					for got := 0; got < n; {
						m, err := c.ReceiveBatch(ctx, 64)
						if err != nil {
							b.Error(err)
							return
						}
						got += m.Len()
						c.Release()
					}
				}()
				b.ResetTimer()
				start := time.Now()
				for sent := 0; sent < n; {
					if batch == 1 {
						if err := p.Send(ctx, msg); err != nil {
							b.Fatal(err)
						}
						sent++
						continue
					}
					k, err := p.SendBatch(ctx, msgs[:min(batch, n-sent)])
					if err != nil {
						b.Fatal(err)
					}
					sent += k
				}
				<-done
				reportRate(b, n, time.Since(start))
				b.ReportMetric(float64(c.Stats().Sleeps+p.Stats().Sleeps)/float64(n), "sleeps/op")
			})
		}
	}
}

// BenchmarkChannelBaseline is the in-process reference: a buffered Go channel
// of 1024 byte slices between two goroutines.
func BenchmarkChannelBaseline(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			ch := make(chan []byte, 1024)
			msg := make([]byte, size)
			b.SetBytes(int64(size))
			n := b.N
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, size)
				for range n {
					copy(buf, <-ch)
				}
			}()
			b.ResetTimer()
			start := time.Now()
			for range n {
				ch <- msg
			}
			<-done
			reportRate(b, n, time.Since(start))
		})
	}
}

// BenchmarkPingPongInProcess bounces one message between two goroutines over
// two rings: the round trip, spinning and sleeping.
func BenchmarkPingPongInProcess(b *testing.B) {
	for _, w := range []struct {
		name string
		wait WaitStrategy
	}{{"wait=spin", WaitSpin}, {"wait=sleep", WaitSleep}} {
		b.Run(w.name, func(b *testing.B) {
			if w.wait.Spin > 0 && runtime.GOMAXPROCS(0) < 2 {
				b.Skip("spinning ping-pong needs two CPUs")
			}
			ping, pong := newBenchRing(b, 64, 1), newBenchRing(b, 64, 1)
			pp, _ := ping.Producer()
			pc, _ := ping.Consumer()
			qp, _ := pong.Producer()
			qc, _ := pong.Consumer()
			for _, e := range []interface{ SetWait(WaitStrategy) }{pp, pc, qp, qc} {
				e.SetWait(w.wait)
			}
			ctx := context.Background()
			echoed := make(chan struct{})
			go func() {
				defer close(echoed)
				buf := make([]byte, 64)
				for {
					n, err := pc.Recv(ctx, buf)
					if err != nil {
						return
					}
					qp.Send(ctx, buf[:n])
				}
			}()
			msg, buf := make([]byte, 64), make([]byte, 64)
			start := time.Now()
			for b.Loop() {
				pp.Send(ctx, msg)
				qc.Recv(ctx, buf)
			}
			elapsed := time.Since(start)
			pp.Close()
			<-echoed
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "rtt-ns")
		})
	}
}
