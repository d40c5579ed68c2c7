package layout

import (
	"math"
	"testing"
)

// Every counter area word is 8-byte aligned, every block and histogram
// starts on a unit of its own, and the area lies between the slots and the
// end unit.
func TestCounterAreaGeometry(t *testing.T) {
	for _, p := range []Params{
		{Kind: KindSPSC, SlotSize: 8, SlotCount: 1 << 10},
		{Kind: KindSPSC, SlotSize: 8, SlotCount: 1 << 10, Telemetry: Telemetry{On: true}},
		{Kind: KindMPMC, SlotSize: 100, SlotCount: 64, Telemetry: Telemetry{On: true, Shift: 3}},
		{Kind: KindMPSC, SlotSize: 100, SlotCount: 4, Telemetry: Telemetry{On: true, Shift: 31}},
		{Kind: KindBroadcast, SlotSize: 1 << 16, SlotCount: 8, MaxConsumers: 5, Telemetry: Telemetry{On: true, Shift: 1}},
		// Record rings: the counter area follows the data area of
		// SlotCount bytes (SlotStride 1), the smallest one included.
		{Kind: KindSPSC, Records: true, SlotSize: 16, SlotCount: MinRecordCapacity},
		{Kind: KindBroadcast, Records: true, SlotSize: 100, SlotCount: 1 << 12, MaxConsumers: 3},
	} {
		h, err := NewHeaderFor(p)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		slotsEnd := h.SlotsOffset + h.SlotCount*h.SlotStride
		if h.CountersOffset < slotsEnd || h.CountersOffset%PadUnit != 0 {
			t.Errorf("%+v: counters at %d, slots end at %d", p, h.CountersOffset, slotsEnd)
		}
		end := h.StampsOffset() + h.StampCount()*8
		if end > h.EndOffset {
			t.Errorf("%+v: counter area ends at %d, past the end unit at %d", p, end, h.EndOffset)
		}
		if h.Histograms() > 0 && h.HistogramOffset(0)%PadUnit != 0 || HistSize%PadUnit != 0 {
			t.Errorf("%+v: histogram at %d (size %d) is not on a unit", p, h.HistogramOffset(0), HistSize)
		}
		if p.Telemetry.On {
			last := uint64(1)<<p.Telemetry.Shift*(h.SlotCount+3) - 0
			for _, pos := range []uint64{0, 1 << p.Telemetry.Shift, last} {
				if off := h.StampOffset(pos); off < h.StampsOffset() || off+8 > end || off%8 != 0 {
					t.Errorf("%+v: stamp of %d at %d, outside [%d, %d)", p, pos, off, h.StampsOffset(), end)
				}
			}
		}
		b := make([]byte, HeaderSize)
		h.Encode(b)
		got, err := Decode(b)
		if err != nil || got != h {
			t.Errorf("%+v: decoded %+v, %v; want %+v", p, got, err, h)
		}
	}
}

// A stamp of position p is shared with no position less than a lap away.
func TestStampOfAPositionLastsALap(t *testing.T) {
	for _, shift := range []uint8{0, 2, 5, 12} {
		h, err := NewHeaderFor(Params{Kind: KindSPSC, SlotSize: 8, SlotCount: 16, Telemetry: Telemetry{On: true, Shift: shift}})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint64]uint64{}
		step := uint64(1) << shift
		for pos := uint64(0); pos < 64*step; pos += step {
			off := h.StampOffset(pos)
			if prev, ok := seen[off]; ok && pos-prev < h.SlotCount {
				t.Fatalf("shift %d: positions %d and %d share stamp %d", shift, prev, pos, off)
			}
			seen[off] = pos
		}
	}
}

// HistKey puts a latency in the bucket whose bounds, in units of 2^-30 s,
// hold it: upper-inclusive, as Prometheus's native histograms do.
func TestHistKeyBounds(t *testing.T) {
	for _, ns := range []uint64{1, 2, 3, 7, 100, 999, 1000, 1001, 65536, 1e6, 123456789, 1e9, 3e12} {
		k := HistKey(ns)
		v := float64(ns) * 1e-9
		lo, hi := HistUpper(k-1), HistUpper(k)
		if !(v > lo*(1-1e-12) && v <= hi*(1+1e-12)) {
			t.Errorf("%d ns: key %d covers (%g, %g] s", ns, k, lo, hi)
		}
	}
	if k := HistKey(1 << 62); k < HistBuckets {
		t.Errorf("2^62 ns: key %d, want Over (>= %d)", k, HistBuckets)
	}
	if HistUpper(HistKeyOffset) != 1 || math.Abs(HistUpper(HistBuckets-1)-math.Exp2(167.0/4-30)) > 1e-9 {
		t.Errorf("bucket %d's bound = %g s, want 1", HistKeyOffset, HistUpper(HistKeyOffset))
	}
}
