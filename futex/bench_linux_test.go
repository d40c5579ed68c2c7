package futex_test

import (
	"testing"

	"github.com/shmring/shmring/internal/proctest"
)

// BenchmarkPingPongAcrossProcesses measures a round trip between two
// processes that both sleep on a futex whenever they wait, so every round
// pays a wake-up in each direction: the ring's worst case after its spin
// phase. rtt-ns is the round trip; wakes/op shows how often the parent
// actually had to call Wake (the rest of the time the child's re-check won).
func BenchmarkPingPongAcrossProcesses(b *testing.B) {
	proctest.Watchdog(b, watchdogBound)
	path := newShmFile(b)
	w := mapForTest(b, path)
	c := proctest.Start(b, "pingpong-serve", path)
	c.Expect("ready")
	var i uint32
	wakes := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		n, err := publish(w.ping, w.pingWaiters, i)
		if err != nil {
			b.Fatal(err)
		}
		wakes += n
		if _, err := await(w.pong, w.pongWaiters, i-1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "rtt-ns")
	b.ReportMetric(float64(wakes)/float64(b.N), "wakes/op")
	if _, err := publish(w.ping, w.pingWaiters, stopValue); err != nil {
		b.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		b.Fatal(err)
	}
}
