package ring_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// fileHist reads histogram i of r's file: count, bad, and the samples in
// Zero, the buckets and Over.
func fileHist(t *testing.T, r *ring.Ring, i uint32) (count, bad, placed uint64) {
	t.Helper()
	b, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	off := h.HistogramOffset(i)
	le := binary.LittleEndian
	placed = le.Uint64(b[off+layout.HistZeroOffset:]) + le.Uint64(b[off+layout.HistOverOffset:])
	for k := range layout.HistBuckets {
		placed += le.Uint64(b[off+layout.HistBucketsOffset+uint64(8*k):])
	}
	return le.Uint64(b[off+layout.HistCountOffset:]), le.Uint64(b[off+layout.HistBadOffset:]), placed
}

func newTelemetryRing(t *testing.T, k contractKind, every int) *contractRing {
	t.Helper()
	name := ring.UniqueName(t)
	r, err := ring.Create(name, ring.Options{Kind: k.kind, SlotSize: 64, Slots: 1024, Telemetry: ring.Telemetry{SampleEvery: every}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); ring.Remove(name) })
	return &contractRing{k: k, r: r, name: name}
}

// Every sampled message a read end receives, and only those, lands in its
// histogram, whichever way it was received (one at a time in place, copied,
// or in batches).
func TestTelemetryCountsEverySampledMessage(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		for _, every := range []int{1, 4} {
			const n = 1000
			cr := newTelemetryRing(t, k, every)
			p, rd := cr.ends(t)
			ctx := context.Background()
			if err := sendN(ctx, p, 0, n/2, 16); err != nil {
				t.Fatal(err)
			}
			msgs := make([][]byte, n/2)
			for i := range msgs {
				msgs[i] = make([]byte, 16)
			}
			for sent := 0; sent < n/2; {
				k, err := p.SendBatch(ctx, msgs[sent:])
				if err != nil {
					t.Fatal(err)
				}
				sent += k
			}
			buf := make([]byte, 64)
			got := 0
			for got < n {
				switch got % 3 {
				case 0:
					if _, err := rd.Recv(ctx, buf); err != nil {
						t.Fatal(err)
					}
					got++
				case 1:
					if _, err := rd.Receive(ctx); err != nil {
						t.Fatal(err)
					}
					rd.Release()
					got++
				default:
					k, err := receiveBatch(ctx, rd, 7, nil)
					if err != nil {
						t.Fatal(err)
					}
					rd.Release()
					got += k
				}
			}
			count, bad, placed := fileHist(t, cr.r, 0)
			if want := uint64((n + every - 1) / every); count != want || bad != 0 || placed != count {
				t.Errorf("every %d: histogram count=%d bad=%d placed=%d, want %d samples, none bad, all placed", every, count, bad, placed, want)
			}
		}
	})
}

// A stamp no producer wrote (zero, or later than the consumer's clock) is
// counted Bad and placed in no bucket; an old one is a long latency.
func TestTelemetryCountsBadStamps(t *testing.T) {
	k, _ := contractKindNamed("SPSC")
	cr := newTelemetryRing(t, k, 1)
	p, rd := cr.ends(t)
	ctx := context.Background()
	if err := sendN(ctx, p, 0, 4, 16); err != nil {
		t.Fatal(err)
	}
	h := cr.r.Header()
	f, err := os.OpenFile(cr.r.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for pos, v := range []uint64{0, math.MaxUint64, 1} {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		if _, err := f.WriteAt(b[:], int64(h.StampOffset(uint64(pos)))); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for range 4 {
		if _, err := rd.Recv(ctx, buf); err != nil {
			t.Fatal(err)
		}
	}
	if count, bad, placed := fileHist(t, cr.r, 0); count != 4 || bad != 2 || placed != 2 {
		t.Errorf("count=%d bad=%d placed=%d, want 4, 2 and 2", count, bad, placed)
	}
}

func TestTelemetryOptionIsChecked(t *testing.T) {
	shift := 32
	bad := []int{-1, 3}
	if big := 1 << shift; big != 0 { // 64-bit ints: a power of two beyond 2^31
		bad = append(bad, big)
	}
	for _, every := range bad {
		_, err := ring.Create(ring.UniqueName(t), ring.Options{Kind: ring.SPSC, SlotSize: 8, Slots: 8, Telemetry: ring.Telemetry{SampleEvery: every}})
		if !errors.Is(err, ring.ErrInvalid) {
			t.Errorf("SampleEvery %d: Create = %v, want ErrInvalid", every, err)
		}
	}
}

// A record ring carries no telemetry (its positions are bytes, and stamps
// are indexed by position): Create refuses the option with ErrInvalid, a
// message that says so, and no file left behind, for both record kinds.
func TestTelemetryIsRefusedOnRecordRings(t *testing.T) {
	for _, k := range []ring.Kind{ring.SPSC, ring.Broadcast} {
		name := ring.UniqueName(t)
		r, err := ring.Create(name, ring.Options{Kind: k, Records: true, Capacity: 1 << 12, Telemetry: ring.Telemetry{SampleEvery: 1}})
		if err == nil {
			r.Close()
			ring.Remove(name)
			t.Fatalf("%v: Create of a record ring with telemetry succeeded, want ErrInvalid", k)
		}
		if !errors.Is(err, ring.ErrInvalid) || !strings.Contains(err.Error(), "telemetry is for slot rings") {
			t.Errorf("%v: Create = %v, want ErrInvalid saying telemetry is for slot rings", k, err)
		}
		if _, err := os.Stat("/dev/shm/" + name); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: after the refused Create, stat = %v, want no file", k, err)
		}
	}
}
