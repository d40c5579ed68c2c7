//go:build linux

package interop

// The header's Flags word (layout version 4) at the C and Python openers:
// a record ring is valid and Go's, and each opener refuses it with its own
// "unsupported" verdict, never a corruption one; a ring with telemetry
// opens, its consumers and readers work (recording no latency samples),
// and its producer role is refused, since neither library stores the
// stamps a Go consumer measures.

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

func TestOpenersRefuseRecordRingsAsUnsupported(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	dir := t.TempDir()
	for _, o := range []ring.Options{
		{Kind: ring.SPSC, Records: true, Capacity: 4096},
		{Kind: ring.Broadcast, Records: true, Capacity: 1 << 16, MaxMessage: 1000, MaxReaders: 2},
	} {
		path := filepath.Join(dir, o.Kind.String()+"-records")
		r, err := ring.Create(path, o)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		if got, err := goOpenVerdict(path, ring.OpenOptions{}); got != vOK {
			t.Fatalf("%v record ring: Go says %d (%v): the test is wrong", o.Kind, got, err)
		}
		for _, lang := range []string{"c", "python"} {
			lines := runLines(t, lang, "open", path)
			want := strconv.Itoa(vUnsupported) + " "
			if len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], "record rings") {
				t.Errorf("%v record ring: %s opener says %q, want %q and why", o.Kind, lang, lines, want+"...record rings...")
			}
		}
	}
}

// roleVerdict takes a role on a ring with a language's library and returns
// its one line ("ok", or the code and detail).
func roleVerdict(t *testing.T, lang, name, role string) string {
	t.Helper()
	lines := runLines(t, lang, "role", name, role)
	if len(lines) != 1 {
		t.Fatalf("%s role %s: %q", lang, role, lines)
	}
	return lines[0]
}

func TestTelemetryRingsTakeCAndPythonConsumersAndRefuseTheirProducers(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	telemetry := ring.Telemetry{SampleEvery: 1}
	plain := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64})
	spsc := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 64, Telemetry: telemetry})
	bcast := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 64, MaxReaders: 2, Telemetry: telemetry})
	unsupported := strconv.Itoa(vUnsupported) + " "
	for _, lang := range []string{"c", "python"} {
		for _, c := range []struct {
			name, role, want string
		}{
			{plain, "producer", "ok"}, // the control: the role itself works
			{spsc, "producer", unsupported},
			{spsc, "consumer", "ok"},
			{bcast, "lossless", "ok"},
			{bcast, "lossy", "ok"},
		} {
			got := roleVerdict(t, lang, c.name, c.role)
			if c.want == "ok" && got != "ok" || c.want != "ok" && (!strings.HasPrefix(got, c.want) || !strings.Contains(got, "telemetry")) {
				t.Errorf("%s %s on %s: %q, want %q", lang, c.role, c.name, got, c.want)
			}
		}
	}
	// A refused producer took nothing: Go's takes the role.
	r, err := ring.Open(spsc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.Producer()
	if err != nil {
		t.Fatalf("Go producer after the refused ones: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// The streams of integrity_test.go on rings with telemetry, every message
// stamped by the Go producer and ignored by the consumer: every message
// arrives whole, and the consumer's histogram and counter block stay zero
// (neither library keeps the in-file counters).
func TestGoProducerToCConsumerOnATelemetryRing(t *testing.T) {
	telemetryStream(t, "c", scale(200_000), slotSize)
}

func TestGoProducerToPythonConsumerOnATelemetryRing(t *testing.T) {
	telemetryStream(t, "python", scale(50_000), pythonSlotSize)
}

func telemetryStream(t *testing.T, lang string, n, slotSize int) {
	o := ring.Options{Kind: ring.SPSC, SlotSize: slotSize, Slots: 1024, Telemetry: ring.Telemetry{SampleEvery: 1}}
	name := streamOn(t, o, "go", lang, n)
	b, err := os.ReadFile(filepath.Join("/dev/shm", name))
	if err != nil {
		t.Fatal(err)
	}
	h, err := layout.Decode(b[:layout.HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(b[h.HistogramOffset(0)+layout.HistCountOffset:]); got != 0 {
		t.Errorf("%s consumer: histogram count=%d, want 0 (it records no samples)", lang, got)
	}
	if got := le.Uint64(b[h.CounterBlockOffset(layout.SPSCConsumerBlock)+layout.CounterMessagesOffset:]); got != 0 {
		t.Errorf("%s consumer: counter block messages=%d, want 0 (it keeps no in-file counters)", lang, got)
	}
}

func TestGoProducerToCBroadcastReadersOnATelemetryRing(t *testing.T) {
	o := ring.Options{Kind: ring.Broadcast, SlotSize: slotSize, Slots: 256, MaxReaders: 4, Telemetry: ring.Telemetry{SampleEvery: 2}}
	broadcastOn(t, o, scale(200_000), 50_000, [2]string{"c", "lossless"}, [2]string{"c", "lossy"})
}

func TestGoProducerToPythonBroadcastReadersOnATelemetryRing(t *testing.T) {
	o := ring.Options{Kind: ring.Broadcast, SlotSize: pythonSlotSize, Slots: 256, MaxReaders: 4, Telemetry: ring.Telemetry{SampleEvery: 2}}
	broadcastOn(t, o, scale(50_000), 20_000, [2]string{"python", "lossless"}, [2]string{"python", "lossy"})
}
