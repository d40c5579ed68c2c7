package layout

import (
	"encoding/binary"
	"errors"
	"testing"
)

// A record ring's header: the records flag, MaxMessage as the slot size,
// Capacity as the slot count, stride 1, and a data area of Capacity bytes.
func TestRecordHeaderGeometry(t *testing.T) {
	for _, kind := range []Kind{KindSPSC, KindBroadcast} {
		h, err := NewHeaderFor(Params{Kind: kind, Records: true, SlotSize: 1000, SlotCount: 1 << 12})
		if err != nil {
			t.Fatalf("%v: NewHeaderFor = %v", kind, err)
		}
		if !h.Records || h.SlotStride != 1 || h.SlotHeaderSize != RecordHeaderSize || h.SlotCount != 1<<12 || h.SlotSize != 1000 {
			t.Errorf("%v: header %+v, want records, stride 1, record header, count 4096, size 1000", kind, h)
		}
		if h.EndOffset < h.SlotsOffset+h.SlotCount || h.SlotsOffset%RecordAlign != 0 {
			t.Errorf("%v: data area [%d, +%d) and end unit at %d overlap or misalign", kind, h.SlotsOffset, h.SlotCount, h.EndOffset)
		}
		b := make([]byte, HeaderSize)
		h.Encode(b)
		if got := binary.LittleEndian.Uint32(b[FlagsOffset:]); got != HeaderFlagRecords {
			t.Errorf("%v: flags word=%#x, want %#x", kind, got, HeaderFlagRecords)
		}
		d, err := Decode(b)
		if err != nil || d != h {
			t.Errorf("%v: Decode(Encode(h)) = %+v, %v; want %+v", kind, d, err, h)
		}
	}
}

func TestRecordGeometryIsRefusedWhereItDoesNotHold(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{"MPMC carries no records", Params{Kind: KindMPMC, Records: true, SlotSize: 64, SlotCount: 1 << 12}},
		{"MPSC carries no records", Params{Kind: KindMPSC, Records: true, SlotSize: 64, SlotCount: 1 << 12}},
		{"a capacity that is no power of two", Params{Kind: KindSPSC, Records: true, SlotSize: 64, SlotCount: 3000}},
		{"a capacity below the minimum", Params{Kind: KindSPSC, Records: true, SlotSize: 8, SlotCount: 32}},
		{"a message beyond half the capacity", Params{Kind: KindSPSC, Records: true, SlotSize: 1<<11 + 1, SlotCount: 1 << 12}},
		{"no message at all", Params{Kind: KindSPSC, Records: true, SlotSize: 0, SlotCount: 1 << 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHeaderFor(tt.p); !errors.Is(err, ErrGeometry) {
				t.Fatalf("NewHeaderFor(%+v) = %v, want ErrGeometry", tt.p, err)
			}
		})
	}
}

// An unknown header flag, or a records flag over slot geometry, is refused.
func TestDecodeRefusesBadRecordFlags(t *testing.T) {
	h, err := NewHeaderFor(Params{Kind: KindSPSC, SlotSize: 64, SlotCount: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, flags := range []uint32{HeaderFlagRecords, 2, 1 << 31} {
		b := make([]byte, HeaderSize)
		h.Encode(b)
		binary.LittleEndian.PutUint32(b[FlagsOffset:], flags)
		binary.LittleEndian.PutUint32(b[ChecksumOffset:], Checksum(b))
		if _, err := Decode(b); !errors.Is(err, ErrGeometry) {
			t.Errorf("flags=%#x over a slot ring's geometry: Decode = %v, want ErrGeometry", flags, err)
		}
	}
}

func TestRecordSizeAndBound(t *testing.T) {
	for _, tc := range []struct {
		n    uint32
		want uint64
	}{{0, 16}, {1, 32}, {16, 32}, {17, 48}, {64, 80}} {
		if got := RecordSize(tc.n); got != tc.want {
			t.Errorf("RecordSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	// The bound, by the placement rule of section 17.4 at every offset of
	// an empty ring: the longest message fits wherever the producer stands
	// (whole before the end, or wrapped with its payload clear of its
	// header), and one byte more does not fit somewhere.
	fitsEverywhere := func(c uint64, n uint32) bool {
		for o := uint64(0); o < c; o += RecordAlign {
			if o+RecordSize(n) <= c {
				continue // a RecordMessage at o
			}
			if o == 0 || RecordBody(n) > o || (c-o)+RecordBody(n) > c {
				return false // a wrapped record would overrun its own header
			}
		}
		return true
	}
	for _, c := range []uint64{64, 128, 1 << 12, 1 << 16} {
		m := MaxRecordMessage(c)
		if m != uint32(c/2) || !fitsEverywhere(c, m) {
			t.Errorf("capacity %d: max message %d does not fit at every offset, or is not Capacity/2", c, m)
		}
		if fitsEverywhere(c, m+1) {
			t.Errorf("capacity %d: max message %d is not the largest that fits everywhere", c, m)
		}
	}
	if MaxRecordMessage(1<<40) != MaxSlotSize {
		t.Errorf("MaxRecordMessage(2^40) = %d, want MaxSlotSize", MaxRecordMessage(1<<40))
	}
}

// TestCheckRecordRefusesAnOffsetOffTheAlignment: no record starts off a
// multiple of RecordAlign, whatever its header holds (a hostile cursor or
// tail points there; a header there may cross the end of the data area).
func TestCheckRecordRefusesAnOffsetOffTheAlignment(t *testing.T) {
	const c = 256
	for _, off := range []uint64{8, 100, c - 8, c - 1} {
		for _, typ := range []uint32{RecordMessage, RecordWrapped} {
			if _, _, ok := CheckRecord(off, c, 64, 0, typ); ok {
				t.Errorf("CheckRecord(off=%d, type %d) accepted a record off the alignment", off, typ)
			}
		}
	}
	if _, _, ok := CheckRecord(16, c, 64, 0, RecordMessage); !ok {
		t.Error("CheckRecord(off=16) refused an empty message on a boundary")
	}
}
