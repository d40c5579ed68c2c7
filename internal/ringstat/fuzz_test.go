//go:build linux

package ringstat

import (
	"context"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// ringBytes returns the bytes of a small ring file of each kind after some
// traffic (the ring is closed: its roles are free), then of an SPSC and a
// broadcast record ring. All slot rings but the MPSC ring have telemetry,
// so their counter areas hold histograms and stamps too.
func ringBytes(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for i, kind := range []ring.Kind{ring.SPSC, ring.MPMC, ring.MPSC, ring.Broadcast, ring.SPSC, ring.Broadcast} {
		path := t.TempDir() + "/seed"
		o := ring.Options{Kind: kind, SlotSize: 24, Slots: 4, Telemetry: ring.Telemetry{SampleEvery: 1}}
		if i >= 4 { // three 32-byte records fit in 128 bytes
			o = ring.Options{Kind: kind, Records: true, Capacity: 128, MaxMessage: 24}
		}
		switch kind {
		case ring.MPSC:
			o.Telemetry = ring.Telemetry{}
		case ring.MPMC:
			o.MaxProducers, o.MaxConsumers = 2, 2
		case ring.Broadcast:
			o.MaxReaders = 2
		}
		r, err := ring.Create(path, o)
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Producer()
		if err != nil {
			t.Fatal(err)
		}
		if kind == ring.Broadcast {
			rd, err := r.Reader(ring.ReaderOptions{Policy: ring.Lossless})
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			for i := range 3 {
				if err := p.Send(context.Background(), []byte{byte(i), 1, 2}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := rd.Recv(context.Background(), make([]byte, 24)); err != nil {
				t.Fatal(err)
			}
		} else {
			c, err := r.Consumer()
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := p.Send(context.Background(), []byte{byte(i), 1, 2}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Recv(context.Background(), make([]byte, 24)); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		out = append(out, b)
	}
	return out
}

// checkSnapshot fails on a snapshot no reading of any bytes may give.
func checkSnapshot(t *testing.T, s Snapshot) {
	t.Helper()
	known := []State{OK, Idle, Stuck, Dead, NotReady, Truncated, Corrupt, ForeignVersion, NotARing, Unreadable}
	if !slices.Contains(known, s.State) {
		t.Fatalf("state %q is none of %v", s.State, known)
	}
	if s.State.Broken() {
		if s.Problem == "" {
			t.Fatalf("state %s without a problem", s.State)
		}
		return
	}
	if s.Kind == "" || s.Slots == 0 && s.Capacity == 0 {
		t.Fatalf("a sound ring without kind or geometry: %+v", s)
	}
	if s.Consumed > s.Published && s.Kind != "mpmc" && s.Kind != "mpsc" {
		t.Fatalf("consumed %d > published %d in a sound %s ring", s.Consumed, s.Published, s.Kind)
	}
	for _, r := range s.Roles {
		if r.Live {
			t.Fatalf("role %+v live in bytes nobody holds", r)
		}
	}
}

// FuzzReadBytes feeds whole files to the reading code behind `ringctl stat`
// and `ls`: it must give a state for any bytes, never panic, never read
// outside them.
func FuzzReadBytes(f *testing.F) {
	for _, b := range ringBytes(f) {
		f.Add(b)
		f.Add(b[:layout.HeaderSize])
		f.Add(b[:len(b)-layout.EndSize])
	}
	f.Add([]byte("SHMRING\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSnapshot(t, readBytes(b))
	})
}

// FuzzControlArea keeps a valid header of each kind and lets the fuzzer
// write the control area (cursors, states, entries): the part a hostile or
// buggy peer can change under a running ring.
func FuzzControlArea(f *testing.F) {
	seeds := ringBytes(f)
	for i, b := range seeds {
		h, _ := layout.Decode(b)
		f.Add(uint8(i), b[layout.ControlOffset:h.SlotsOffset])
	}
	f.Fuzz(func(t *testing.T, which uint8, control []byte) {
		b := slices.Clone(seeds[int(which)%len(seeds)])
		h, err := layout.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[layout.ControlOffset:h.SlotsOffset], control)
		s := readBytes(b)
		checkSnapshot(t, s)
		if s.State == NotARing || s.State == ForeignVersion || s.State == Truncated {
			t.Fatalf("the header was left whole, yet the state is %s (%s)", s.State, s.Problem)
		}
	})
}

// FuzzCounterArea keeps a valid ring of each kind and lets the fuzzer write
// its counter area (counter blocks, histograms, stamps): nothing the
// engine reads, so no value there makes the ring unsound, and every
// latency figure read from it stays a number.
func FuzzCounterArea(f *testing.F) {
	seeds := ringBytes(f)
	for i, b := range seeds {
		h, _ := layout.Decode(b)
		f.Add(uint8(i), b[h.CountersOffset:h.EndOffset])
	}
	f.Fuzz(func(t *testing.T, which uint8, area []byte) {
		b := slices.Clone(seeds[int(which)%len(seeds)])
		h, err := layout.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[h.CountersOffset:h.EndOffset], area)
		s := readBytes(b)
		checkSnapshot(t, s)
		if s.State.Broken() {
			t.Fatalf("the counter area alone made the ring %s (%s)", s.State, s.Problem)
		}
		for _, r := range s.Roles {
			if l := r.Latency; l != nil {
				for _, v := range []float64{l.P50Ns, l.P90Ns, l.P99Ns, l.P999Ns, l.MaxNs} {
					if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("latency figure %v from %+v", v, l)
					}
				}
				if l.P50Ns > l.P99Ns || l.P99Ns > l.MaxNs {
					t.Fatalf("percentiles out of order: %+v", l)
				}
			}
		}
	})
}

// FuzzTail lets the fuzzer write a ring's control area and slots (or
// records) and runs `ringctl tail`'s reader over them: it must hand out
// only messages no longer than a slot (MaxMessage), in position order
// (sequence order on a record ring), or stop with an error.
func FuzzTail(f *testing.F) {
	seeds := ringBytes(f)
	for i, b := range seeds {
		h, _ := layout.Decode(b)
		f.Add(uint8(i), uint8(3), b[layout.ControlOffset:h.EndOffset])
	}
	f.Fuzz(func(t *testing.T, which, back uint8, body []byte) {
		b := slices.Clone(seeds[int(which)%len(seeds)])
		h, err := layout.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[layout.ControlOffset:h.EndOffset], body)
		tl, ok := newTail(b, h, uint64(back))
		if !ok {
			t.Fatal("a fault in a heap slice")
		}
		next, shown := tl.Pos(), 0
		if h.Records && back == 0 {
			next = 0 // from the cursor, the first message may carry less than RecSeq (Tail.Pos)
		}
		for range 3 {
			err := tl.Poll(func(e Event) error {
				if e.Pos < next {
					t.Fatalf("event at %d after position %d", e.Pos, next)
				}
				if e.Gap {
					next = e.Pos + e.Count
					return nil
				}
				if uint64(len(e.Data)) > uint64(h.SlotSize) {
					t.Fatalf("message of %d bytes from slots of %d", len(e.Data), h.SlotSize)
				}
				next = e.Pos + 1
				shown++
				return nil
			})
			if err != nil {
				break
			}
		}
		if shown > 3*int(h.SlotCount)+int(back) {
			t.Fatalf("%d messages from a ring of %d slots that nobody writes", shown, h.SlotCount)
		}
	})
}
