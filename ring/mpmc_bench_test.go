package ring

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkMPMCThroughput moves 64-byte messages from np producer
// goroutines to nc consumer goroutines through a mapped 1024-slot ring, with
// Send and Recv, beside the same goroutines sharing a buffered Go channel
// and (for 1P1C) an SPSC ring, in one run so the figures read as ratios.
// ns/msg is wall time over all messages.
func BenchmarkMPMCThroughput(b *testing.B) {
	const size, slots = 64, 1 << 10
	for _, shape := range []struct {
		name   string
		np, nc int
		kinds  []Kind
	}{
		{"1P1C", 1, 1, []Kind{MPMC, MPSC, SPSC}},
		{"2P2C", 2, 2, []Kind{MPMC}},
		{"4P1C", 4, 1, []Kind{MPMC, MPSC}},
	} {
		for _, k := range shape.kinds {
			b.Run(fmt.Sprintf("%s/kind=%v", shape.name, k), func(b *testing.B) {
				name := uniqueName(b)
				o := Options{Kind: k, SlotSize: size, Slots: slots, MaxProducers: shape.np, MaxConsumers: shape.nc}
				if k == SPSC {
					o.MaxProducers, o.MaxConsumers = 0, 0
				}
				r, err := Create(name, o)
				if err != nil {
					b.Fatal(err)
				}
				defer func() { r.Close(); Remove(name) }()
				benchRing(b, r, shape.np, shape.nc, size)
			})
		}
		b.Run(fmt.Sprintf("%s/chan", shape.name), func(b *testing.B) {
			benchChan(b, shape.np, shape.nc, size, slots)
		})
	}
}

func benchRing(b *testing.B, r *Ring, np, nc, size int) {
	ctx := context.Background()
	ps := make([]*Producer, np)
	for i := range ps {
		p, err := r.Producer()
		if err != nil {
			b.Fatal(err)
		}
		ps[i] = p
	}
	cs := make([]*Consumer, nc)
	for i := range cs {
		c, err := r.Consumer()
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	n := b.N
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, size)
			for j := i; j < n; j += np {
				if err := p.Send(ctx, msg); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	var got sync.WaitGroup
	var mu sync.Mutex
	left := n
	for _, c := range cs {
		got.Add(1)
		go func() {
			defer got.Done()
			buf := make([]byte, size)
			for {
				mu.Lock()
				if left == 0 {
					mu.Unlock()
					return
				}
				left--
				mu.Unlock()
				if _, err := c.Recv(ctx, buf); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got.Wait()
	reportRate(b, n, time.Since(start))
	var sleeps, wakes uint64
	for _, c := range cs {
		sleeps += c.Stats().Sleeps
		wakes += c.Stats().Wakes
	}
	for _, p := range ps {
		sleeps += p.Stats().Sleeps
		wakes += p.Stats().Wakes
	}
	b.ReportMetric(float64(sleeps)/float64(n), "sleeps/op")
	// wakes/op counts FUTEX_WAKE calls: more than sleeps/op means
	// publishers woke sleepers that were already getting up.
	b.ReportMetric(float64(wakes)/float64(n), "wakes/op")
}

func benchChan(b *testing.B, np, nc, size, slots int) {
	ch := make(chan []byte, slots)
	b.SetBytes(int64(size))
	n := b.N
	var wg, got sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range np {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, size)
			for j := i; j < n; j += np {
				ch <- msg
			}
		}()
	}
	for range nc {
		got.Add(1)
		go func() {
			defer got.Done()
			buf := make([]byte, size)
			for m := range ch {
				copy(buf, m)
			}
		}()
	}
	wg.Wait()
	close(ch)
	got.Wait()
	reportRate(b, n, time.Since(start))
}
