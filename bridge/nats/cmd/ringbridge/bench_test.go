package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shmring/shmring/bridge/nats/internal/msgcheck"
	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/ring"
)

// BenchmarkLatency times one 64-byte message at a time ring → ringbridge
// out → server → ringbridge in → ring, the bridges in processes of their
// own as deployed, beside the same message from a nats.go publisher to a
// nats.go subscriber (another connection) of the same embedded server:
// the difference is what the two bridges and their rings add. One
// goroutine sends and receives, so one clock times both ends.
func BenchmarkLatency(b *testing.B) {
	srv := natstest.Start(b, natstest.Config{})
	msg := make([]byte, 64)
	msgcheck.Stamp(msg, 1)
	b.Run("nats.go", func(b *testing.B) {
		pub, err := nats.Connect(srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer pub.Close()
		sc, err := nats.Connect(srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer sc.Close()
		sub, err := sc.SubscribeSync("lat")
		if err != nil {
			b.Fatal(err)
		}
		sc.Flush()
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if err := pub.Publish("lat", msg); err != nil {
				b.Fatal(err)
			}
			if _, err := sub.NextMsg(time.Minute); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
	})
	b.Run("ring-ringbridge-nats-ringbridge-ring", func(b *testing.B) {
		src := newRing(b, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
		dst := newRing(b, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1024})
		in := bridge(b, "in", "lat-bridge", dst, "--url", srv.URL())
		out := bridge(b, "out", src, "lat-bridge", "--url", srv.URL())
		rs, err := ring.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		defer rs.Close()
		rd, err := ring.Open(dst)
		if err != nil {
			b.Fatal(err)
		}
		defer rd.Close()
		p, _ := rs.Producer()
		c, _ := rd.Consumer()
		ctx := context.Background()
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if err := p.Send(ctx, msg); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Receive(ctx); err != nil {
				b.Fatal(err)
			}
			c.Release()
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
		p.Close()
		if err := out.Wait(); err != nil {
			b.Fatal(err)
		}
		in.Kill()
	})
}

func reportLatency(b *testing.B, lat []time.Duration) {
	b.StopTimer()
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.5), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(0, "ns/op") // one message at a time: the percentiles say it
}
