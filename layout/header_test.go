package layout

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func testHeader(t testing.TB) Header {
	h, err := NewHeader(KindSPSC, 64, 1024)
	if err != nil {
		t.Fatal(err)
	}
	h.CreatorPID = 4242
	h.CreatedUnixNano = 1_764_000_000_123_456_789
	return h
}

func encoded(t testing.TB) []byte {
	h := testHeader(t)
	b := make([]byte, HeaderSize)
	h.Encode(b)
	binary.LittleEndian.PutUint32(b[ReadyOffset:], ReadyValue)
	return b
}

// The golden bytes pin the file format: if this test fails, the format
// changed, and Version must change with it (and LAYOUT.md).
func TestEncodeGoldenBytes(t *testing.T) {
	golden := "" +
		"53484d52494e4700" + "04000000" + "01000000" + "80000000" + "80000000" + // magic version kind headersize padunit
		"40000000" + "08000000" + "0004000000000000" + // slot size, slot header size, slot count
		"4800000000000000" + "8000000000000000" + "0002000000000000" + // stride, control offset, control size
		"8002000000000000" + "8000020000000000" + // slots offset, file size
		"92100000" + "00000000" + "15cd256fa7fc7a18" + // pid, flags, created
		"01000000" + "01000000" + strings.Repeat("00", 16) + // max producers, max consumers, reserved
		"" // checksum and ready are appended below
	b := encoded(t)
	got := hex.EncodeToString(b[:ChecksumOffset])
	if got != golden {
		t.Fatalf("encoded header changed:\n got %s\nwant %s", got, golden)
	}
	if got, want := binary.LittleEndian.Uint32(b[ChecksumOffset:]), Checksum(b); got != want {
		t.Fatalf("checksum = %#x, want %#x", got, want)
	}
	if got := hex.EncodeToString(b[ReadyOffset:HeaderSize]); got != "52445921" {
		t.Fatalf("ready word bytes = %s, want 52445921 (\"RDY!\")", got)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	b := encoded(t)
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := testHeader(t); got != want {
		t.Fatalf("Decode = %+v, want %+v", got, want)
	}
	if err := CheckReady(binary.LittleEndian.Uint32(b[ReadyOffset:])); err != nil {
		t.Fatal(err)
	}
}

// Every single-byte change of the header is caught, each by the check that
// owns the byte.
func TestDecodeRejectsEverySingleByteCorruption(t *testing.T) {
	good := encoded(t)
	for off := 0; off < HeaderSize; off++ {
		for _, delta := range []byte{0x01, 0x80, 0xff} {
			b := append([]byte(nil), good...)
			b[off] ^= delta
			_, err := Decode(b)
			if off >= ReadyOffset {
				err = CheckReady(binary.LittleEndian.Uint32(b[ReadyOffset:]))
			}
			want := wantErrFor(off)
			// A geometry byte whose change still adds up (a slot size
			// that rounds to the same stride) falls through to the
			// checksum, which catches it.
			if !errors.Is(err, want) && !(want == ErrGeometry && errors.Is(err, ErrChecksum)) {
				t.Fatalf("byte %d ^ %#x: err = %v, want %v", off, delta, err, want)
			}
		}
	}
}

func wantErrFor(off int) error {
	switch {
	case off < MagicOffset+MagicSize:
		return ErrMagic
	case off < KindOffset:
		return ErrVersion
	case off >= CreatorPIDOffset && off < FlagsOffset, off >= CreatedUnixNanoOffset && off < MaxProducersOffset:
		return ErrChecksum // informational fields: only the checksum guards them
	case off >= ChecksumOffset && off < ReadyOffset:
		return ErrChecksum
	case off >= ReadyOffset:
		return ErrReadyWord
	}
	return ErrGeometry
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(b []byte) []byte
		want error
	}{
		{"a short buffer is ErrShort", func(b []byte) []byte { return b[:HeaderSize-1] }, ErrShort},
		{"zero bytes are not a ring", func(b []byte) []byte { return make([]byte, HeaderSize) }, ErrMagic},
		{"version 1 is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[VersionOffset:], 1)
			return b
		}, ErrVersion},
		{"version 2 is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[VersionOffset:], 2)
			return b
		}, ErrVersion},
		{"version 3 is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[VersionOffset:], 3)
			return b
		}, ErrVersion},
		{"version 5 is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[VersionOffset:], 5)
			return b
		}, ErrVersion},
		{"a flags bit no writer sets is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[FlagsOffset:], 1)
			binary.LittleEndian.PutUint32(b[ChecksumOffset:], Checksum(b))
			return b
		}, ErrGeometry},
		{"a sample shift without telemetry is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[FlagsOffset:], 3<<SampleShiftBit)
			binary.LittleEndian.PutUint32(b[ChecksumOffset:], Checksum(b))
			return b
		}, ErrGeometry},

		{"a slot count that is not a power of two is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[SlotCountOffset:], 1000)
			return b
		}, ErrGeometry},
		{"a file size that disagrees with the slots is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[FileSizeOffset:], 1<<40)
			return b
		}, ErrGeometry},
		{"a consistent but re-checksummed lie about slot size is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[SlotSizeOffset:], 1<<20)
			binary.LittleEndian.PutUint32(b[ChecksumOffset:], Checksum(b))
			return b
		}, ErrGeometry},
		{"an unknown kind is refused", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[KindOffset:], 99)
			return b
		}, ErrGeometry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.mod(encoded(t)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewHeaderRejectsBadGeometry(t *testing.T) {
	tests := []struct {
		name     string
		size     uint32
		count    uint64
		wantFail bool
	}{
		{"one slot of one byte is fine", 1, 1, false},
		{"a zero slot size is refused", 0, 16, true},
		{"a slot size above the maximum is refused", MaxSlotSize + 1, 16, true},
		{"zero slots are refused", 64, 0, true},
		{"a slot count of three is refused", 64, 3, true},
		{"a file beyond the maximum is refused", MaxSlotSize, 1 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHeader(KindSPSC, tt.size, tt.count)
			if (err != nil) != tt.wantFail {
				t.Fatalf("err = %v, want failure %v", err, tt.wantFail)
			}
			if err != nil && !errors.Is(err, ErrGeometry) {
				t.Fatalf("err = %v, want ErrGeometry", err)
			}
		})
	}
}

func TestStride(t *testing.T) {
	tests := []struct {
		size uint32
		want uint64
	}{{1, 16}, {8, 16}, {56, 64}, {57, 72}, {64, 72}, {4096, 4104}}
	for _, tt := range tests {
		if got := Stride(tt.size); got != tt.want {
			t.Errorf("Stride(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encoded(f))
	f.Add(make([]byte, HeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever Decode accepts must be a geometry whose slots fit the
		// file and end before the end unit, which starts a page of its own.
		last := h.SlotOffset(h.SlotCount-1) + h.SlotStride
		if last > h.EndOffset || h.EndOffset%EndAlign != 0 || h.EndOffset-last >= EndAlign || h.EndOffset+EndSize != h.FileSize || h.SlotsOffset < ControlOffset+ControlSize || h.SlotStride < SlotHeaderSize+uint64(h.SlotSize) {
			t.Fatalf("accepted impossible geometry %+v", h)
		}
	})
}

// Every kind's header survives Encode and Decode, and its control area
// holds its entry table.
func TestKindsRoundTrip(t *testing.T) {
	for _, p := range []Params{
		{Kind: KindSPSC, SlotSize: 64, SlotCount: 8},
		{Kind: KindMPMC, SlotSize: 64, SlotCount: 8, MaxProducers: 4, MaxConsumers: 2},
		{Kind: KindMPMC, SlotSize: 64, SlotCount: 8},
		{Kind: KindMPSC, SlotSize: 1, SlotCount: 1, MaxProducers: 1000},
		{Kind: KindBroadcast, SlotSize: 128, SlotCount: 1 << 10, MaxConsumers: 7},
	} {
		h, err := NewHeaderFor(p)
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		b := make([]byte, HeaderSize)
		h.Encode(b)
		got, err := Decode(b)
		if err != nil || got != h {
			t.Fatalf("%v: Decode = %+v, %v; want %+v", p.Kind, got, err, h)
		}
		var entriesEnd uint64
		switch p.Kind {
		case KindMPMC, KindMPSC:
			entriesEnd = MPMCEntryOffset(h.MaxProducers + h.MaxConsumers)
		case KindBroadcast:
			entriesEnd = BcastReaderOffset(h.MaxConsumers)
		default:
			entriesEnd = ControlOffset + ControlSize
		}
		if h.SlotsOffset != entriesEnd || h.SlotStride < uint64(h.SlotHeaderSize)+uint64(h.SlotSize) {
			t.Fatalf("%v: slots at %d, entries end at %d; stride %d", p.Kind, h.SlotsOffset, entriesEnd, h.SlotStride)
		}
	}
}

func TestKindLimitsRefused(t *testing.T) {
	for _, p := range []Params{
		{Kind: KindSPSC, SlotSize: 64, SlotCount: 8, MaxProducers: 2},
		{Kind: KindMPSC, SlotSize: 64, SlotCount: 8, MaxConsumers: 2},
		{Kind: KindMPMC, SlotSize: 64, SlotCount: 8, MaxProducers: 1000, MaxConsumers: 25},
		{Kind: KindMPMC, SlotSize: 64, SlotCount: MaxMPMCSlotCount * 2},
		{Kind: KindBroadcast, SlotSize: 64, SlotCount: 8, MaxConsumers: MaxReaders + 1},
		{Kind: KindBroadcast, SlotSize: 64, SlotCount: 8, MaxProducers: 2},
		{Kind: 5, SlotSize: 64, SlotCount: 8},
	} {
		if _, err := NewHeaderFor(p); !errors.Is(err, ErrGeometry) {
			t.Errorf("%+v: err = %v, want ErrGeometry", p, err)
		}
	}
}

// Control words keep position, state and owner apart.
func TestCtrlWord(t *testing.T) {
	o := Owner(MaxParticipants-1, 0xfffff)
	w := Ctrl(1<<40+7, SlotReading, o)
	if CtrlSeq(w) != 7 || CtrlState(w) != SlotReading || CtrlOwner(w) != o {
		t.Fatalf("Ctrl = %#x: seq %d state %d owner %#x", w, CtrlSeq(w), CtrlState(w), CtrlOwner(w))
	}
	if OwnerIndex(o) != MaxParticipants-1 || !SameIncarnation(o, 0xfffff) || SameIncarnation(o, 0xffffe) {
		t.Fatalf("owner %#x: index %d incarnation %d", o, OwnerIndex(o), OwnerIncarnation(o))
	}
	if ValidSlotState(slotStateMax+1) || !ValidSlotState(SlotSkipped) {
		t.Fatal("ValidSlotState")
	}
}
