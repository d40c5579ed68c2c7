//go:build linux

package ring

// Broadcast benchmarks: producer throughput fanned out to 1, 2 and 4
// readers of each policy (goroutines on a mapped ring), the same fan-out
// through one unix socket per reader as the baseline of the same run, and
// the latency from publish to each reader when the producer waits for
// every reader between messages.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

var bcastBenchReaders = []int{1, 2, 4}

func newBcastBenchRing(b *testing.B, slotSize, slots, readers int) *Ring {
	b.Helper()
	name := uniqueName(b)
	r, err := Create(name, Options{Kind: Broadcast, SlotSize: slotSize, Slots: slots, MaxReaders: readers})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close(); Remove(name) })
	return r
}

// BenchmarkBroadcastFanOut: one producer goroutine sends b.N 64-byte
// messages with SendBatch (batches of 16); each reader goroutine takes them
// with ReceiveBatch until the stream closes. ns/op is the producer's cost
// per message with every reader served (lossless: the slowest reader's
// pace; lossy: the producer's own, readers lapped as they fall behind —
// see laps/op and delivered-% for what they got).
func BenchmarkBroadcastFanOut(b *testing.B) {
	const size = 64
	for _, policy := range []Policy{Lossless, Lossy} {
		for _, readers := range bcastBenchReaders {
			b.Run(fmt.Sprintf("policy=%v/readers=%d/size=%d", policy, readers, size), func(b *testing.B) {
				r := newBcastBenchRing(b, size, 1<<12, readers)
				rds := make([]*Reader, readers)
				for i := range rds {
					rds[i] = mustReader(b, r, ReaderOptions{Policy: policy, Start: Latest})
				}
				p := mustProducer(b, r)
				ctx := context.Background()
				msgs := make([][]byte, 16)
				for i := range msgs {
					msgs[i] = make([]byte, size)
				}
				var wg sync.WaitGroup
				var delivered, laps atomic.Uint64
				for _, rd := range rds {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							bt, err := rd.ReceiveBatch(ctx, 64)
							if errors.Is(err, ErrLapped) {
								laps.Add(1)
								continue
							}
							if err != nil {
								break
							}
							for i := range bt.Len() {
								bt.At(i)
							}
							if rd.Release() != nil {
								laps.Add(1)
							}
						}
						delivered.Add(rd.Stats().Messages)
					}()
				}
				b.SetBytes(size)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for sent := 0; sent < b.N; {
					n, err := p.SendBatch(ctx, msgs[:min(len(msgs), b.N-sent)])
					if err != nil {
						b.Fatal(err)
					}
					sent += n
				}
				p.Close()
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				reportRate(b, b.N, elapsed)
				b.ReportMetric(float64(laps.Load())/float64(b.N), "laps/op")
				b.ReportMetric(100*float64(delivered.Load())/float64(b.N*readers), "delivered-%")
			})
		}
	}
}

// BenchmarkBroadcastUnixSocketFanOut is the baseline: the same 64-byte
// messages fanned out by one goroutine writing each batch to one unix
// stream socket per reader (what a feed handler without shared memory
// does), readers reading in 64-message chunks.
func BenchmarkBroadcastUnixSocketFanOut(b *testing.B) {
	const size = 64
	for _, readers := range bcastBenchReaders {
		b.Run(fmt.Sprintf("readers=%d/size=%d", readers, size), func(b *testing.B) {
			var wg sync.WaitGroup
			conns := make([]net.Conn, readers)
			for i := range conns {
				a, c := unixPair(b)
				conns[i] = a
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 64*size)
					for {
						if _, err := c.Read(buf); err != nil {
							return
						}
					}
				}()
			}
			batch := make([]byte, 16*size)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for sent := 0; sent < b.N; sent += 16 {
				k := min(16, b.N-sent)
				for _, c := range conns {
					if _, err := c.Write(batch[:k*size]); err != nil {
						b.Fatal(err)
					}
				}
			}
			for _, c := range conns {
				c.Close()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			reportRate(b, b.N, elapsed)
		})
	}
}

func unixPair(b *testing.B) (net.Conn, net.Conn) {
	b.Helper()
	l, err := net.Listen("unix", fmt.Sprintf("@shmring-bench-%d-%d", time.Now().UnixNano(), nameSeq.Add(1)))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		ch <- c
	}()
	a, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := <-ch
	b.Cleanup(func() { a.Close(); c.Close() })
	return a, c
}

// BenchmarkBroadcastLatency: the producer publishes one timestamped
// message, then waits until every (lossless) reader has taken it; each
// reader records publish-to-receive time. Reported: percentiles over all
// readers' samples, in ns (unloaded latency: no queue).
func BenchmarkBroadcastLatency(b *testing.B) {
	const size = 64
	for _, readers := range bcastBenchReaders {
		b.Run(fmt.Sprintf("readers=%d/size=%d", readers, size), func(b *testing.B) {
			r := newBcastBenchRing(b, size, 1<<10, readers)
			base := time.Now()
			var taken atomic.Uint64
			samples := make([][]int64, readers)
			var wg sync.WaitGroup
			ctx := context.Background()
			for i := range readers {
				rd := mustReader(b, r, ReaderOptions{Policy: Lossless, Start: Latest})
				samples[i] = make([]int64, 0, b.N)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						m, err := rd.Receive(ctx)
						if err != nil {
							return
						}
						now := int64(time.Since(base))
						samples[i] = append(samples[i], now-int64(binary.LittleEndian.Uint64(m)))
						rd.Release()
						taken.Add(1)
					}
				}()
			}
			p := mustProducer(b, r)
			msg := make([]byte, size)
			b.ResetTimer()
			for i := range b.N {
				binary.LittleEndian.PutUint64(msg, uint64(time.Since(base)))
				if err := p.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				for want := uint64(i+1) * uint64(readers); taken.Load() < want; {
					spin()
				}
			}
			b.StopTimer()
			p.Close()
			wg.Wait()
			var all []int64
			for _, s := range samples {
				all = append(all, s...)
			}
			slices.Sort(all)
			pct := func(q float64) float64 { return float64(all[min(len(all)-1, int(q*float64(len(all))))]) }
			b.ReportMetric(pct(0.50), "p50-ns")
			b.ReportMetric(pct(0.99), "p99-ns")
			b.ReportMetric(pct(0.999), "p99.9-ns")
		})
	}
}

func init() {
	proctest.Register("bcast-bench-reader", bcastBenchReader)
}

// bcastBenchReader reads a broadcast stream with ReceiveBatch until it
// closes, checking that sequence numbers only grow by one except across
// laps (by exactly the missed count), and prints "done <delivered>
// <missed> <laps>". Arguments: ring, policy.
func bcastBenchReader() int {
	a := childArgs(2)
	r, err := Open(a[0])
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	o := ReaderOptions{Policy: Lossy, Start: Latest}
	if a[1] == "lossless" {
		o.Policy = Lossless
	}
	rd, err := r.Reader(o)
	if err != nil {
		return childFail("Reader: %v", err)
	}
	fmt.Println("ready")
	ctx := context.Background()
	next := uint64(0)
	for {
		b, err := rd.ReceiveBatch(ctx, 64)
		var lap *LapError
		if errors.As(err, &lap) {
			next += lap.Missed
			continue
		}
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			return childFail("ReceiveBatch at %d: %v", next, err)
		}
		ok := true
		for i := range b.Len() {
			m, err := b.At(i)
			if err != nil || len(m) < 8 || binary.LittleEndian.Uint64(m) != next+uint64(i) {
				ok = false
			}
		}
		if err := rd.Release(); err != nil {
			if !errors.As(err, &lap) {
				return childFail("Release at %d: %v", next, err)
			}
			next += lap.Missed
			continue
		}
		if !ok {
			return childFail("a message out of sequence at %d", next)
		}
		next += uint64(b.Len())
	}
	st := rd.Stats()
	fmt.Printf("done %d %d %d\n", st.Messages, st.Missed, st.Lapped)
	return 0
}

// BenchmarkBroadcastFanOutAcrossProcesses: the producer (this process)
// sends b.N 64-byte messages with SendBatch to 1, 2 or 4 reader processes;
// the time runs until every reader has seen the end of the stream. Each
// message carries its sequence number, checked by the readers.
func BenchmarkBroadcastFanOutAcrossProcesses(b *testing.B) {
	const size = 64
	for _, policy := range []string{"lossless", "lossy"} {
		for _, readers := range bcastBenchReaders {
			b.Run(fmt.Sprintf("policy=%s/readers=%d/size=%d", policy, readers, size), func(b *testing.B) {
				r := newBcastBenchRing(b, size, 1<<12, readers)
				var children []*proctest.Child
				for range readers {
					c := proctest.Start(b, "bcast-bench-reader", r.Name(), policy)
					c.Expect("ready")
					children = append(children, c)
				}
				p := mustProducer(b, r)
				ctx := context.Background()
				msgs := make([][]byte, 16)
				for i := range msgs {
					msgs[i] = make([]byte, size)
				}
				b.SetBytes(size)
				b.ResetTimer()
				start := time.Now()
				for sent := 0; sent < b.N; {
					k := min(len(msgs), b.N-sent)
					for i := range k {
						binary.LittleEndian.PutUint64(msgs[i], uint64(sent+i))
					}
					n, err := p.SendBatch(ctx, msgs[:k])
					if err != nil {
						b.Fatal(err)
					}
					sent += n
				}
				p.Close()
				var delivered, laps uint64
				for _, c := range children {
					line, err := c.ReadLine()
					if err != nil {
						b.Fatalf("reader: %v (%v)", err, c.Wait())
					}
					var d, m, l uint64
					if _, err := fmt.Sscanf(line, "done %d %d %d", &d, &m, &l); err != nil {
						b.Fatalf("reader said %q", line)
					}
					if d+m != uint64(b.N) {
						b.Fatalf("reader delivered %d + missed %d != %d", d, m, b.N)
					}
					delivered += d
					laps += l
				}
				elapsed := time.Since(start)
				b.StopTimer()
				for _, c := range children {
					if err := c.Wait(); err != nil {
						b.Fatal(err)
					}
				}
				reportRate(b, b.N, elapsed)
				b.ReportMetric(float64(laps)/float64(b.N), "laps/op")
				b.ReportMetric(100*float64(delivered)/float64(b.N*readers), "delivered-%")
			})
		}
	}
}
