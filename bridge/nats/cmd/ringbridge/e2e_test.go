package main

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/shmring/shmring/bridge/nats/internal/natstest"
	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// million is how many messages the acceptance runs carry.
const million = 1_000_000

// TestRingToNATSToRingAcrossProcesses: a producer process, ringbridge out,
// ringbridge in and a consumer process, over core NATS: a million 64-byte
// messages arrive once each, in order, undamaged (sequence number and
// CRC-32C checked by the consumer), and the sequence headers show no gap.
func TestRingToNATSToRingAcrossProcesses(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	srv := natstest.Start(t, natstest.Config{})
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1 << 14})
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1 << 14})
	n := strconv.Itoa(million)

	// The consumer's ring may fall behind for a moment on a busy machine:
	// let the client buffer rather than drop, for this test. Its --url
	// ends in an empty entry, which is skipped (as nats.go does), not a
	// bad command line.
	in := bridge(t, "in", "acceptance", dst, "--url", srv.URL()+",", "--pending-msgs=-1", "--pending-bytes=-1")
	out := bridge(t, "out", src, "acceptance", "--url", srv.URL(), "--seq-header")
	consumer := proctest.Start(t, "consume", dst, n, "exact")
	producer := proctest.Start(t, "produce", src, n, "64")

	expectLine(t, producer, "sent "+n)
	mustExit0(t, producer, "producer")
	mustExit0(t, out, "ringbridge out at the end of the stream")
	readUntil(t, consumer, fmt.Sprintf("at %d", million))
	expectLine(t, consumer, fmt.Sprintf("done received=%d gaps=0", million))
	mustExit0(t, consumer, "consumer")
	stop(t, in)

	if oc := counters(t, out); oc["messages"] != million || oc["missed"]+oc["oversize"] != 0 {
		t.Errorf("ringbridge out counted %v, want messages=%d and nothing missed or dropped", oc, million)
	}
	if ic := counters(t, in); ic["messages"] != million || ic["gaps"]+ic["repeats"]+ic["dropped"]+ic["oversize"] != 0 {
		t.Errorf("ringbridge in counted %v, want messages=%d and no gap, repeat or drop", ic, million)
	}
}

// TestJetStreamAcrossBridgeRestarts: the same million through a JetStream
// stream, with ringbridge out stopped (SIGTERM) and replaced at a third of
// the way and ringbridge in at two thirds: nothing lost, nothing twice,
// order kept; the new out numbers on from the stream, the new in resumes
// at its durable consumer.
func TestJetStreamAcrossBridgeRestarts(t *testing.T) {
	proctest.Watchdog(t, watchdog)
	srv := natstest.Start(t, natstest.Config{JetStream: true})
	src := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1 << 14})
	dst := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 1 << 14})
	n := strconv.Itoa(million)
	js := []string{"--url", srv.URL(), "--jetstream", "RINGS", "--create-stream", "--batch", "1024"}
	inArgs := append([]string{"in", "restarts", dst, "--durable", "to-ring"}, js...)
	outArgs := append([]string{"out", src, "restarts"}, js...)

	in1 := bridge(t, inArgs...)
	out1 := bridge(t, outArgs...)
	consumer := proctest.Start(t, "consume", dst, n, "exact")
	producer := proctest.Start(t, "produce", src, n, "64")

	readUntil(t, consumer, "at 300000")
	stop(t, out1)
	out2 := bridge(t, outArgs...)
	readUntil(t, consumer, "at 600000")
	stop(t, in1)
	in2 := bridge(t, inArgs...)
	readUntil(t, consumer, fmt.Sprintf("at %d", million))
	expectLine(t, consumer, fmt.Sprintf("done received=%d gaps=0", million))
	mustExit0(t, consumer, "consumer")
	mustExit0(t, producer, "producer")
	mustExit0(t, out2, "ringbridge out at the end of the stream")
	stop(t, in2)

	o1, o2, i1, i2 := counters(t, out1), counters(t, out2), counters(t, in1), counters(t, in2)
	if o1["messages"]+o2["messages"] != million || o1["missed"]+o2["missed"]+o1["oversize"]+o2["oversize"] != 0 {
		t.Errorf("ringbridge out counted %v then %v, want %d messages acknowledged in all and none dropped", o1, o2, million)
	}
	if i1["messages"]+i2["messages"] != million || i1["gaps"]+i2["gaps"]+i1["repeats"]+i2["repeats"] != 0 {
		t.Errorf("ringbridge in counted %v then %v, want %d messages in all, no gap, no repeat", i1, i2, million)
	}
	if o1["messages"] == 0 || o2["messages"] == 0 || i1["messages"] == 0 || i2["messages"] == 0 {
		t.Errorf("a bridge carried nothing (out %d, %d; in %d, %d): the restart was not mid-stream",
			o1["messages"], o2["messages"], i1["messages"], i2["messages"])
	}
}
