package interop

// Throughput of a Go producer into a consumer of each language, 64-byte
// messages, one Send per message, each consumer a process of its own doing
// the same work (a copying receive per message and a sequence check). The
// Go consumer is the reference the C consumer is measured against in
// BENCHMARKS.md; run them together so the ratio is taken in one run:
//
//	go test -run '^$' -bench 'GoProducerTo' -count 5 ./interop/

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

func BenchmarkGoProducerTo(b *testing.B) {
	for _, lang := range []string{"go", "c", "python"} {
		b.Run("consumer="+lang+"/size=64", func(b *testing.B) {
			proctest.Watchdog(b, 5*time.Minute)
			name := newRing(b, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1 << 12})
			r, err := ring.Open(name)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			p, err := r.Producer()
			if err != nil {
				b.Fatal(err)
			}
			c := start(b, lang, "bench", name, strconv.Itoa(b.N))
			c.Expect("ready")
			msg := make([]byte, 64)
			ctx := context.Background()
			b.SetBytes(64)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				binary.LittleEndian.PutUint64(msg, uint64(i))
				if err := p.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
			c.Expect("ok " + strconv.Itoa(b.N)) // the last message is received
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(p.Stats().Sleeps)/float64(b.N), "sleeps/op")
			if err := c.Wait(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
