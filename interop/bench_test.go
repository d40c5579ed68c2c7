package interop

// Throughput of a Go producer into a consumer of each language, 64-byte
// messages, one Send per message, each consumer a process of its own doing
// the same work (a copying receive per message and a sequence check). The
// Go consumer is the reference the C consumer is measured against in
// BENCHMARKS.md:
//
//	go test -run '^$' -bench 'GoProducerTo|CVersusGo' ./interop/

import (
	"context"
	"encoding/binary"
	"fmt"
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
			b.SetBytes(64)
			s := segment(b, lang, b.N)
			b.ReportMetric(float64(b.N)/s.elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(s.sleeps)/float64(b.N), "sleeps/op")
			b.ReportMetric(float64(s.consumerSleeps)/float64(b.N), "consumer-sleeps/op")
		})
	}
}

// BenchmarkCVersusGoConsumer is the acceptance ratio in one run: the C and
// the Go consumer take turns (go, c, c, go, go, c, ...) on segments of the
// stream, so that a change of the host's core placement in the middle of
// the run (BENCHMARKS.md, the machine) weighs on both alike.
func BenchmarkCVersusGoConsumer(b *testing.B) {
	proctest.Watchdog(b, 10*time.Minute)
	const turns = 10
	per := max(b.N/(2*turns), 1)
	total := map[string]time.Duration{}
	for i := 0; i < turns; i++ {
		order := []string{"go", "c"}
		if i%2 == 1 {
			order = []string{"c", "go"}
		}
		for _, lang := range order {
			total[lang] += segment(b, lang, per).elapsed
		}
	}
	goRate := float64(per*turns) / total["go"].Seconds()
	cRate := float64(per*turns) / total["c"].Seconds()
	b.ReportMetric(goRate, "go-msgs/s")
	b.ReportMetric(cRate, "c-msgs/s")
	b.ReportMetric(cRate/goRate, "c/go")
}

type segmentResult struct {
	elapsed        time.Duration
	sleeps         uint64 // the producer's
	consumerSleeps int
}

// segment sends n 64-byte messages from this process (one Send each) to a
// new consumer process of lang on a new ring, and times it from the first
// Send until the consumer has received the last message.
func segment(b *testing.B, lang string, n int) segmentResult {
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
	c := start(b, lang, "bench", name, strconv.Itoa(n))
	c.Expect("ready")
	msg := make([]byte, 64)
	ctx := context.Background()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		if err := p.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	line := expectPrefix(b, c, "ok", nil) // the last message is received
	elapsed := time.Since(t0)
	var got, sleeps int
	if _, err := fmt.Sscanf(line, "ok %d %d", &got, &sleeps); err != nil || got != n {
		b.Fatalf("consumer said %q, want ok %d <sleeps>", line, n)
	}
	if err := c.Wait(); err != nil {
		b.Fatal(err)
	}
	return segmentResult{elapsed, p.Stats().Sleeps, sleeps}
}
