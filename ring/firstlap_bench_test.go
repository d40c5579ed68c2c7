package ring

import (
	"testing"
	"time"
)

// BenchmarkFirstLapOfANewRing: the 64 KiB messages that fill a new 64 MiB
// ring (its first lap: every slot written for the first time) against
// those of its second lap, and what Create took. Create pre-faults every
// page (shm's populate, then touch): a first lap that costs more than the
// second is a first touch paid on the data path, as on a VM whose host
// backs memory lazily before Create wrote each page (BENCHMARKS.md 11.9).
// One goroutine, TrySend only: no peer, no wait.
func BenchmarkFirstLapOfANewRing(b *testing.B) {
	const slotSize, slots = 64 << 10, 1024
	msg := make([]byte, slotSize)
	var create, first, second time.Duration
	runs := 0
	for b.Loop() {
		runs++
		name := uniqueName(b)
		t0 := time.Now()
		r, err := Create(name, Options{Kind: SPSC, SlotSize: slotSize, Slots: slots})
		if err != nil {
			b.Fatal(err)
		}
		create += time.Since(t0)
		b.Cleanup(func() { r.Close(); Remove(name) }) // if Fatal comes first
		p, c := mustProducer(b, r), mustConsumer(b, r)
		for lap, d := range []*time.Duration{&first, &second} {
			t := time.Now()
			for i := range slots {
				if err := p.TrySend(msg); err != nil {
					b.Fatalf("lap %d, message %d: %v", lap, i, err)
				}
			}
			*d += time.Since(t)
			for range slots {
				if _, err := c.TryReceive(); err != nil {
					b.Fatal(err)
				}
				c.Release()
			}
		}
		r.Close()
		Remove(name)
	}
	n := float64(runs)
	b.ReportMetric(float64(create.Microseconds())/n/1e3, "create-ms")
	b.ReportMetric(float64(first.Nanoseconds())/n/slots, "first-lap-ns/msg")
	b.ReportMetric(float64(second.Nanoseconds())/n/slots, "second-lap-ns/msg")
	b.ReportMetric(0, "ns/op") // Create and two laps together: no one figure
}
