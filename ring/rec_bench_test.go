package ring

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shmring/shmring/layout"
)

// BenchmarkRecordsInProcess streams messages from a producer goroutine to a
// consumer goroutine through an SPSC record ring and, in the same run, a
// slot ring of 4096 slots of the message's size, the record ring taking at
// most as much memory: the ratio is the record engine's cost. zerocopy is
// ClaimN/Commit and Receive/Release, copy is Send and Recv.
func BenchmarkRecordsInProcess(b *testing.B) {
	for _, size := range []int{8, 64, 4096} {
		for _, mode := range []string{"zerocopy", "copy"} {
			for _, records := range []bool{false, true} {
				b.Run(fmt.Sprintf("size=%d/%s/records=%v", size, mode, records), func(b *testing.B) {
					o := Options{Kind: SPSC, SlotSize: size, Slots: 1 << 12, Unguarded: benchUnguarded}
					if records {
						c := 64 // the largest power of two within the slot ring's slots: no more memory
						for 2*c <= 1<<12*int(layout.Stride(uint32(size))) {
							c *= 2
						}
						o = Options{Kind: SPSC, Records: true, Capacity: c, MaxMessage: size, Unguarded: benchUnguarded}
					}
					name := uniqueName(b)
					r, err := Create(name, o)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { r.Close(); Remove(name) })
					p, _ := r.Producer()
					c, _ := r.Consumer()
					b.SetBytes(int64(size))
					b.ReportAllocs()
					ctx := context.Background()
					msg, buf := make([]byte, size), make([]byte, size)
					n := b.N
					done := make(chan struct{})
					go func() {
						defer close(done)
						for range n {
							if mode == "copy" {
								if _, err := c.Recv(ctx, buf); err != nil {
									b.Error(err)
									return
								}
								continue
							}
							if _, err := c.Receive(ctx); err != nil {
								b.Error(err)
								return
							}
							c.Release()
						}
					}()
					start := time.Now()
					for range n {
						if mode == "copy" {
							if err := p.Send(ctx, msg); err != nil {
								b.Fatal(err)
							}
							continue
						}
						s, err := p.ClaimN(ctx, size)
						if err != nil {
							b.Fatal(err)
						}
						s[0] = 1
						p.Commit(size)
					}
					<-done
					reportRate(b, n, time.Since(start))
				})
			}
		}
	}
}

// BenchmarkRecordsOneGoroutine sends and receives each message in turn on
// one goroutine through an SPSC record ring: no core-to-core traffic and no
// waits, so it measures the per-message path alone (what a change to it
// costs, with less of a shared machine's noise than the streaming runs).
func BenchmarkRecordsOneGoroutine(b *testing.B) {
	for _, size := range []int{8, 64} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			name := uniqueName(b)
			r, err := Create(name, Options{Kind: SPSC, Records: true, Capacity: 1 << 16, Unguarded: benchUnguarded})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close(); Remove(name) })
			p, _ := r.Producer()
			c, _ := r.Consumer()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			ctx := context.Background()
			msg, buf := make([]byte, size), make([]byte, size)
			for b.Loop() {
				if err := p.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Recv(ctx, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
