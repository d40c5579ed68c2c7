//go:build linux

package ring

// How long consumers take to get past a producer that died holding a claim.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

// childRecoveryProducer takes a producer and claims a slot; at the step
// after the claim it says "claimed", waits for "die", prints the
// CLOCK_MONOTONIC time and kills itself.
func childRecoveryProducer() int {
	name := childArgs(1)[0]
	setStepHook(func(s step) {
		if s == stepAfterClaim {
			fmt.Println("claimed")
			if line := readStdinLine(); line != "die" {
				fmt.Fprintf(os.Stderr, "child: want the line \"die\", got %q\n", line)
			}
			fmt.Printf("dead %d\n", monoNanos())
			killSelf()
		}
	})
	r, err := Open(name)
	if err != nil {
		return childFail("Open: %v", err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		return childFail("Producer: %v", err)
	}
	_, err = p.Claim(context.Background())
	return childFail("Claim returned (%v) without the hook killing the process", err)
}

// BenchmarkMPMCRecoveryAfterProducerDeath measures how long a consumer
// waits after a producer process dies holding a claim (at the step after
// the claim is stamped) until it receives the next message, published by
// another producer behind the dead claim: the recovery bound of the
// default wait strategy (spin + yield + one 10 ms tick) in practice. The
// consumer is asleep on the futex when the producer dies, as a consumer
// behind a stalled claim is; it probes its peers' liveness after each sleep
// that times out. The time runs from the child's reading of
// CLOCK_MONOTONIC just before it kills itself to the parent's reading just
// after Receive returns.
//
// death=after-sleep kills the producer as soon as the consumer has gone to
// sleep, so the consumer sleeps out nearly a whole tick: the bound.
// death=random kills it a uniformly random part of a tick later: what a
// death at an unrelated moment costs.
//
// Each op also starts a process, so ns/op means little; recovery-p50-ns
// and recovery-p99-ns are the figures. Use -benchtime=200x or more for a
// p99 worth quoting.
func BenchmarkMPMCRecoveryAfterProducerDeath(b *testing.B) {
	requireStepHook(b)
	for _, random := range []bool{false, true} {
		name := "death=after-sleep"
		if random {
			name = "death=random"
		}
		b.Run(name, func(b *testing.B) { benchRecovery(b, random) })
	}
}

func benchRecovery(b *testing.B, random bool) {
	proctest.Watchdog(b, killHangBound())
	r := newTestRing(b, Options{Kind: MPMC, SlotSize: killMsgSize, Slots: 64, MaxProducers: 2, MaxConsumers: 1})
	r2, err := Open(r.Name())
	if err != nil {
		b.Fatal(err)
	}
	defer r2.Close()
	p, err := r2.Producer()
	if err != nil {
		b.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		b.Fatal(err)
	}
	c.SetWait(DefaultWait)
	hist := hdrhistogram.New(1, int64(10*time.Second), 3)
	sleepers := r.word32(layout.MPMCDataSleepersOffset)
	phase := rand.New(rand.NewPCG(integritySeed(), 7))
	msg := make([]byte, killMsgSize)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { // the receiving goroutine must not outlive the mapping
		cancel()
		wg.Wait()
	}()
	for k := uint64(0); b.Loop(); k++ {
		child := proctest.Start(b, "recovery-producer", r.Name())
		child.Expect("claimed")
		encodeMessage(msg, xpSeq(survivorStream, k))
		if err := p.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
		got := make(chan error, 1)
		var recvAt int64
		base := sleepers.Load() // sleepers a killed process may have left announced
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := c.Receive(ctx)
			recvAt = monoNanos()
			if err == nil {
				err = checkMessage(m, xpSeq(survivorStream, k), killMsgSize)
				c.Release()
			}
			got <- err
		}()
		// Let the consumer fall asleep behind the live claim, as it would.
		for i := 0; sleepers.Load() == base && i < 10000; i++ {
			time.Sleep(10 * time.Microsecond)
		}
		if random {
			time.Sleep(time.Duration(phase.Int64N(int64(DefaultTick))))
		}
		if err := child.WriteLine("die"); err != nil {
			b.Fatal(err)
		}
		line, err := child.ReadLine()
		if err != nil {
			b.Fatal(err)
		}
		var deadAt int64
		if _, err := fmt.Sscanf(line, "dead %d", &deadAt); err != nil {
			b.Fatalf("the child said %q: %v", line, err)
		}
		if err := <-got; err != nil {
			b.Fatalf("Receive after the producer died: %v\n%s", err, xpDump(r))
		}
		if err := child.Wait(); !killedBySIGKILL(err) {
			b.Fatalf("the child was not killed: %v", err)
		}
		hist.RecordValue(max(recvAt-deadAt, 1))
	}
	b.StopTimer()
	if st := c.Stats(); st.Skipped != uint64(b.N) {
		b.Errorf("consumer skipped %d slots in %d recoveries, want one each", st.Skipped, b.N)
	}
	b.ReportMetric(float64(hist.ValueAtQuantile(50)), "recovery-p50-ns")
	b.ReportMetric(float64(hist.ValueAtQuantile(99)), "recovery-p99-ns")
	b.ReportMetric(float64(hist.Max()), "recovery-max-ns")
}
