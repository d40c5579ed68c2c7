package interop

// Integrity across languages: every message of a long stream arrives once,
// in order, whole (sequence numbers and CRC-32C), each side a process.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// Message lengths run from 16 bytes to the slot size. Python's streams use
// small slots: its CRC-32C is pure Python, and the stream must stay within
// the test budget.
const (
	slotSize       = 128
	pythonSlotSize = 32
)

// stream runs one SPSC stream of n messages from a producer in language
// from to a consumer in language to.
func stream(t *testing.T, from, to string, n, slotSize int) {
	streamOn(t, ring.Options{Kind: ring.SPSC, SlotSize: slotSize, Slots: 1024}, from, to, n)
}

// streamOn is stream on an SPSC ring made with o; it returns the ring's
// name (the ring is removed when the test ends).
func streamOn(t *testing.T, o ring.Options, from, to string, n int) string {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, o)
	count := strconv.Itoa(n)
	cons := start(t, to, "consume", name, "0", count, "closed")
	cons.Expect("ready")
	prod := start(t, from, "produce", name, "0", count, "close")
	prod.Expect("ready")
	if got := expectPrefix(t, prod, "done", nil); got != "done "+count {
		t.Fatalf("producer said %q, want %q", got, "done "+count)
	}
	got := expectPrefix(t, cons, "ok", nil)
	if f := strings.Fields(got); len(f) != 3 || f[1] != count {
		t.Fatalf("consumer said %q, want ok %s <bytes>", got, count)
	}
	for _, c := range []*proctest.Child{prod, cons} {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

func TestGoProducerToCConsumer(t *testing.T) { stream(t, "go", "c", scale(1_000_000), slotSize) }

func TestCProducerToGoConsumer(t *testing.T) { stream(t, "c", "go", scale(1_000_000), slotSize) }

func TestGoProducerToPythonConsumer(t *testing.T) {
	stream(t, "go", "python", scale(1_000_000), pythonSlotSize)
}

// broadcast runs one broadcast stream of n messages from a Go producer to
// readers (language and policy each), all joined before the first message.
// A lossy reader stalls every lapEvery messages until the producer is a
// whole ring ahead, so it is surely lapped; it must account for every
// position: delivered + missed = n, each gap exactly the count reported.
func broadcast(t *testing.T, n, lapEvery, slotSize int, readers ...[2]string) {
	broadcastOn(t, ring.Options{Kind: ring.Broadcast, SlotSize: slotSize, Slots: 256, MaxReaders: 8}, n, lapEvery, readers...)
}

// broadcastOn is broadcast on a Broadcast ring made with o.
func broadcastOn(t *testing.T, o ring.Options, n, lapEvery int, readers ...[2]string) {
	proctest.Watchdog(t, hangBound)
	name := newRing(t, o)
	count := strconv.Itoa(n)
	var rds []*proctest.Child
	for _, rd := range readers {
		lang, policy := rd[0], rd[1]
		every := "0"
		if policy == "lossy" {
			every = strconv.Itoa(lapEvery)
		}
		c := start(t, lang, "bcast", name, policy, count, every)
		c.Expect("ready")
		rds = append(rds, c)
	}
	prod := start(t, "go", "bproduce", name, count)
	prod.Expect("ready")
	expectPrefix(t, prod, "done", nil)
	for i, c := range rds {
		lang, policy := readers[i][0], readers[i][1]
		var delivered, missed, laps int
		line := expectPrefix(t, c, "ok", nil)
		if _, err := fmt.Sscanf(line, "ok %d %d %d", &delivered, &missed, &laps); err != nil {
			t.Fatalf("%s %s reader said %q: %v", lang, policy, line, err)
		}
		t.Logf("%s %s reader: delivered %d, missed %d in %d laps", lang, policy, delivered, missed, laps)
		if delivered+missed != n {
			t.Errorf("%s %s reader: delivered %d + missed %d, want %d in all", lang, policy, delivered, missed, n)
		}
		switch policy {
		case "lossless":
			if missed != 0 || laps != 0 {
				t.Errorf("%s lossless reader missed %d in %d laps", lang, missed, laps)
			}
		case "lossy":
			if laps == 0 || missed == 0 {
				t.Errorf("%s lossy reader was never lapped: the stall did not work, nothing was checked", lang)
			}
		}
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := prod.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestGoProducerToCBroadcastReaders(t *testing.T) {
	broadcast(t, scale(1_000_000), 100_000, slotSize, [2]string{"c", "lossless"}, [2]string{"c", "lossy"})
}

func TestGoProducerToPythonBroadcastReaders(t *testing.T) {
	broadcast(t, scale(1_000_000), 250_000, pythonSlotSize, [2]string{"python", "lossless"}, [2]string{"python", "lossy"})
}
