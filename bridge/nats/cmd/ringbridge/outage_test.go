package main

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// The server-outage runs: outageN messages, the server stopped after
// outagePause of them and started again (same port, same JetStream store)
// once the test has seen what the producer did meanwhile.
const (
	outageN     = 100_000
	outagePause = 25_000
)

// TestServerRestartLosslessLosesNothing: with the server stopped mid-stream
// a bridge from a lossless ring stops taking messages, so the ring fills
// and the producer is held back ("held": a TrySend found the ring full
// while the server was down); after the restart every message arrives,
// once, in order.
func TestServerRestartLosslessLosesNothing(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	srv := natstest.Start(t, natstest.Config{JetStream: true})
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 4096})
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 4096})
	js := []string{"--url", srv.URL(), "--jetstream", "OUTAGE", "--create-stream", "--reconnect-wait", "50ms"}
	in := bridge(t, append([]string{"in", "outage", dst}, js...)...)
	out := bridge(t, append([]string{"out", src, "outage", "--ack-timeout", "1s"}, js...)...)
	consumer := proctest.Start(t, "consume", dst, strconv.Itoa(outageN), "exact")
	producer := proctest.Start(t, "produce", src, strconv.Itoa(outageN), "64", strconv.Itoa(outagePause))

	expectLine(t, producer, fmt.Sprintf("paused at %d", outagePause))
	srv.Stop()
	if err := producer.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	// Only a full ring prints "held"; with the server down nothing else
	// can empty it, so a bridge that dropped instead would never get here
	// and the producer would print "sent" first.
	expectLine(t, producer, "held")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	expectLine(t, producer, fmt.Sprintf("sent %d", outageN))
	mustExit0(t, producer, "producer")
	readUntil(t, consumer, fmt.Sprintf("done received=%d gaps=0", outageN))
	mustExit0(t, consumer, "consumer")
	mustExit0(t, out, "ringbridge out at the end of the stream")
	stop(t, in)

	if oc := counters(t, out); oc["messages"] != outageN || oc["reconnects"] == 0 {
		t.Errorf("ringbridge out counted %v, want messages=%d and a reconnect", oc, outageN)
	}
	if ic := counters(t, in); ic["messages"] != outageN || ic["gaps"] != 0 {
		t.Errorf("ringbridge in counted %v, want messages=%d and no gap", ic, outageN)
	}
}

// TestServerRestartLossyCountsExactly: the same outage with a lossy
// broadcast reader as the source: the producer is never held back, the
// ring overruns the bridge, and the count ringbridge out reports as missed
// is exactly what the consumer did not get, and exactly the gaps
// ringbridge in saw in the sequence headers.
func TestServerRestartLossyCountsExactly(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	srv := natstest.Start(t, natstest.Config{JetStream: true})
	src := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 1024})
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 4096})
	js := []string{"--url", srv.URL(), "--jetstream", "LOSSY", "--create-stream", "--reconnect-wait", "50ms"}
	in := bridge(t, append([]string{"in", "lossy", dst}, js...)...)
	out := bridge(t, append([]string{"out", src, "lossy", "--policy", "lossy", "--ack-timeout", "1s"}, js...)...)
	consumer := proctest.Start(t, "consume", dst, strconv.Itoa(outageN), "gaps")
	producer := proctest.Start(t, "produce", src, strconv.Itoa(outageN), "64", strconv.Itoa(outagePause))

	expectLine(t, producer, fmt.Sprintf("paused at %d", outagePause))
	srv.Stop()
	if err := producer.WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	// A lossy ring never fills: the producer finishes with the server
	// still down, and never prints "held".
	expectLine(t, producer, fmt.Sprintf("sent %d", outageN))
	mustExit0(t, producer, "producer")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	mustExit0(t, out, "ringbridge out at the end of the stream")

	var done string
	for {
		line, err := consumer.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`^done `).MatchString(line) {
			done = line
			break
		}
	}
	mustExit0(t, consumer, "consumer")
	stop(t, in)

	var received, gaps, first uint64
	if _, err := fmt.Sscanf(done, "done received=%d gaps=%d first=%d", &received, &gaps, &first); err != nil {
		t.Fatalf("consumer said %q: %v", done, err)
	}
	oc, ic := counters(t, out), counters(t, in)
	t.Logf("consumer received %d, missed %d; out %v; in %v", received, gaps, oc, ic)
	if oc["missed"] == 0 {
		t.Errorf("ringbridge out reports nothing missed, but the ring overran it while the server was down")
	}
	if oc["missed"] != gaps || received+oc["missed"] != outageN || oc["messages"] != received {
		t.Errorf("ringbridge out reports missed=%d messages=%d; the consumer got %d of %d (missing %d)",
			oc["missed"], oc["messages"], received, outageN, gaps)
	}
	// ringbridge in counts the gaps between the messages it saw: those
	// missed before the first one are not among them.
	if ic["gaps"] != gaps-first || ic["messages"] != received {
		t.Errorf("ringbridge in saw gaps=%d and wrote %d; the consumer got %d and missed %d, %d of them after its first",
			ic["gaps"], ic["messages"], received, gaps, gaps-first)
	}
}
