package layout

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the decoded, immutable part of a ring file's first unit.
type Header struct {
	Kind           Kind   // the ring's kind, fixed at creation
	SlotSize       uint32 // largest payload a slot holds
	SlotHeaderSize uint32 // bytes before a slot's payload
	SlotCount      uint64 // a power of two
	SlotStride     uint64 // bytes from one slot to the next
	ControlOffset  uint64 // file offset of the kind's control area
	ControlSize    uint64 // its size in bytes, a multiple of PadUnit
	SlotsOffset    uint64 // file offset of slot 0 (a record ring's data area)
	FileSize       uint64 // the whole file, end unit included
	// EndOffset is where the end unit starts (derived from the geometry,
	// not stored): FileSize - EndSize.
	EndOffset uint64
	// CountersOffset is where the counter area starts (derived, not
	// stored): the first unit after the slots (counters.go).
	CountersOffset  uint64
	Telemetry       Telemetry // from the Flags word
	CreatorPID      uint32    // the creating process, in its own PID namespace
	CreatedUnixNano int64     // when it was created, wall clock
	MaxProducers    uint32    // MPMC and MPSC: producer handles at most; else 1
	MaxConsumers    uint32    // MPMC: consumer handles; broadcast: reader entries; SPSC and MPSC: 1
	// Records: the ring carries variable-length records (records.go):
	// SlotSize is then its MaxMessage, SlotCount its Capacity in bytes.
	Records bool
}

// Params are what a ring's creator chooses; the rest of a Header follows
// from them.
type Params struct {
	Kind      Kind   // the ring's kind
	SlotSize  uint32 // largest payload a slot holds
	SlotCount uint64 // a power of two
	// MaxProducers and MaxConsumers bound the participants an MPMC or
	// MPSC ring's entry table holds (MaxConsumers is 1 for MPSC); for a
	// Broadcast ring MaxConsumers is the number of reader entries. Zero
	// means the kind's default; SPSC takes 1 and 1.
	MaxProducers uint32
	MaxConsumers uint32
	// Records makes a record ring (records.go): SlotSize is its
	// MaxMessage and SlotCount its Capacity in bytes.
	Records bool
	// Telemetry: latency stamps and histograms (counters.go); slot rings
	// only (stamps are indexed by position, a record ring's are bytes).
	Telemetry Telemetry
}

// Defaults for the participant limits.
const (
	DefaultMaxProducers = 16
	DefaultMaxConsumers = 16
	DefaultMaxReaders   = 16
)

// NewHeader computes the geometry of a ring of slotCount slots holding up
// to slotSize payload bytes each, with the kind's default limits.
func NewHeader(kind Kind, slotSize uint32, slotCount uint64) (Header, error) {
	return NewHeaderFor(Params{Kind: kind, SlotSize: slotSize, SlotCount: slotCount})
}

// NewHeaderFor computes the geometry of the ring p describes.
func NewHeaderFor(p Params) (Header, error) {
	kind, slotSize, slotCount := p.Kind, p.SlotSize, p.SlotCount
	maxP, maxC, err := p.limits()
	if err != nil {
		return Header{}, err
	}
	if slotSize == 0 || slotSize > MaxSlotSize {
		return Header{}, fmt.Errorf("%w: slot size=%d, want 1..%d", ErrGeometry, slotSize, MaxSlotSize)
	}
	maxSlots := uint64(MaxSlotCount)
	if kind == KindMPMC || kind == KindMPSC {
		maxSlots = MaxMPMCSlotCount
	}
	if p.Records {
		if err := p.recordGeometry(); err != nil {
			return Header{}, err
		}
		maxSlots = MaxRecordCapacity
	}
	if slotCount == 0 || slotCount > maxSlots || slotCount&(slotCount-1) != 0 {
		return Header{}, fmt.Errorf("%w: slot count=%d, want a power of two in 1..%d", ErrGeometry, slotCount, maxSlots)
	}
	if p.Records && p.Telemetry.On {
		// Stamps sit in a side array indexed by position; a record
		// ring's positions are bytes, so the array would be as many
		// words as the ring has bytes.
		return Header{}, fmt.Errorf("%w: telemetry is for slot rings; a record ring carries none", ErrGeometry)
	}
	if p.Telemetry.Shift > MaxSampleShift || !p.Telemetry.On && p.Telemetry.Shift != 0 {
		return Header{}, fmt.Errorf("%w: telemetry sample shift=%d, want 0..%d (0 when off)", ErrGeometry, p.Telemetry.Shift, MaxSampleShift)
	}
	slotHeader := SlotHeaderSizeOf(kind)
	control := controlSize(kind, maxP, maxC)
	stride := StrideFor(slotHeader, slotSize)
	if p.Records {
		slotHeader, stride = RecordHeaderSize, 1
	}
	hi, slotBytes := bits.Mul64(stride, slotCount)
	slotsOffset := ControlOffset + control
	counters := countersSize(kind, maxP, maxC, slotCount, p.Telemetry)
	if hi != 0 || slotBytes > MaxFileSize-slotsOffset-EndAlign-EndSize-counters {
		return Header{}, fmt.Errorf("%w: %d slots of %d bytes exceed %d bytes", ErrGeometry, slotCount, stride, uint64(MaxFileSize))
	}
	countersOffset := roundUp(slotsOffset+slotBytes, CountersAlign)
	return Header{
		Kind:           kind,
		SlotSize:       slotSize,
		SlotHeaderSize: slotHeader,
		SlotCount:      slotCount,
		SlotStride:     stride,
		ControlOffset:  ControlOffset,
		ControlSize:    control,
		SlotsOffset:    slotsOffset,
		CountersOffset: countersOffset,
		EndOffset:      roundUp(countersOffset+counters, EndAlign),
		FileSize:       roundUp(countersOffset+counters, EndAlign) + EndSize,
		MaxProducers:   maxP,
		MaxConsumers:   maxC,
		Records:        p.Records,
		Telemetry:      p.Telemetry,
	}, nil
}

// limits checks the kind and fills in its participant limits.
func (p Params) limits() (maxP, maxC uint32, err error) {
	maxP, maxC = p.MaxProducers, p.MaxConsumers
	switch p.Kind {
	case KindSPSC:
		maxP, maxC = or(maxP, 1), or(maxC, 1)
		if maxP != 1 || maxC != 1 {
			return 0, 0, fmt.Errorf("%w: spsc max producers=%d consumers=%d, want 1 and 1", ErrGeometry, maxP, maxC)
		}
	case KindMPMC, KindMPSC:
		maxP = or(maxP, DefaultMaxProducers)
		if p.Kind == KindMPSC {
			maxC = or(maxC, 1)
			if maxC != 1 {
				return 0, 0, fmt.Errorf("%w: mpsc max consumers=%d, want 1", ErrGeometry, maxC)
			}
		}
		maxC = or(maxC, DefaultMaxConsumers)
		if uint64(maxP)+uint64(maxC) > MaxParticipants {
			return 0, 0, fmt.Errorf("%w: max producers=%d + consumers=%d, want at most %d in all", ErrGeometry, maxP, maxC, MaxParticipants)
		}
	case KindBroadcast:
		maxP, maxC = or(maxP, 1), or(maxC, DefaultMaxReaders)
		if maxP != 1 || maxC > MaxReaders {
			return 0, 0, fmt.Errorf("%w: broadcast max producers=%d readers=%d, want 1 and 1..%d", ErrGeometry, maxP, maxC, MaxReaders)
		}
	default:
		return 0, 0, fmt.Errorf("%w: kind=%d not supported", ErrGeometry, p.Kind)
	}
	return maxP, maxC, nil
}

func or(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

// SlotHeaderSizeOf is the size of a slot's header for a kind (known kinds).
func SlotHeaderSizeOf(k Kind) uint32 {
	switch k {
	case KindMPMC, KindMPSC:
		return MPMCSlotHeaderSize
	case KindBroadcast:
		return BcastSlotHeaderSize
	}
	return SlotHeaderSize
}

func controlSize(k Kind, maxP, maxC uint32) uint64 {
	switch k {
	case KindMPMC, KindMPSC:
		return mpmcControlSize(maxP, maxC)
	case KindBroadcast:
		return bcastControlSize(maxC)
	}
	return ControlSize
}

// Stride is the distance between slots for a slot size: the slot header and
// payload rounded up to 8 bytes, so every slot header is 8-byte aligned and
// a stream of small messages packs them densely (a 64-byte message takes
// 72 bytes, not two whole cache lines).
func Stride(slotSize uint32) uint64 { return StrideFor(SlotHeaderSize, slotSize) }

// StrideFor is Stride for a slot header of another size (other kinds).
func StrideFor(slotHeaderSize, slotSize uint32) uint64 {
	return roundUp(uint64(slotHeaderSize)+uint64(slotSize), wordAlign)
}

func roundUp(n, to uint64) uint64 { return (n + to - 1) &^ (to - 1) }

// SlotOffset is the file offset of slot index i (i < SlotCount).
func (h *Header) SlotOffset(i uint64) uint64 { return h.SlotsOffset + i*h.SlotStride }

// Encode writes the header, with its checksum, into b[:HeaderSize]. It leaves
// the ready word alone: the creator stores ReadyValue there last, atomically.
func (h *Header) Encode(b []byte) {
	_ = b[HeaderSize-1]
	le := binary.LittleEndian
	copy(b[MagicOffset:], Magic)
	le.PutUint32(b[VersionOffset:], Version)
	le.PutUint32(b[KindOffset:], uint32(h.Kind))
	le.PutUint32(b[HeaderSizeOffset:], HeaderSize)
	le.PutUint32(b[PadUnitOffset:], PadUnit)
	le.PutUint32(b[SlotSizeOffset:], h.SlotSize)
	le.PutUint32(b[SlotHeaderSizeOffset:], h.SlotHeaderSize)
	le.PutUint64(b[SlotCountOffset:], h.SlotCount)
	le.PutUint64(b[SlotStrideOffset:], h.SlotStride)
	le.PutUint64(b[ControlOffsetOffset:], h.ControlOffset)
	le.PutUint64(b[ControlSizeOffset:], h.ControlSize)
	le.PutUint64(b[SlotsOffsetOffset:], h.SlotsOffset)
	le.PutUint64(b[FileSizeOffset:], h.FileSize)
	le.PutUint32(b[CreatorPIDOffset:], h.CreatorPID)
	le.PutUint32(b[FlagsOffset:], h.flags()|h.Telemetry.flags())
	le.PutUint64(b[CreatedUnixNanoOffset:], uint64(h.CreatedUnixNano))
	le.PutUint32(b[MaxProducersOffset:], h.MaxProducers)
	le.PutUint32(b[MaxConsumersOffset:], h.MaxConsumers)
	clear(b[ReservedOffset : ReservedOffset+ReservedSize])
	le.PutUint32(b[ChecksumOffset:], Checksum(b))
}

// flags is the header's Flags word.
func (h *Header) flags() uint32 {
	if h.Records {
		return HeaderFlagRecords
	}
	return 0
}

// Checksum is the CRC-32C of the header bytes before the checksum field.
func Checksum(b []byte) uint32 { return crc32.Checksum(b[:ChecksumOffset], castagnoli) }

// CheckReady interprets a ready word read from the file.
func CheckReady(v uint32) error {
	switch v {
	case ReadyValue:
		return nil
	case 0:
		return ErrNotReady
	}
	return fmt.Errorf("%w: ready=%#x, want %#x", ErrReadyWord, v, ReadyValue)
}

// Decode validates a header read from untrusted bytes — magic, then
// version, then geometry, then checksum — and returns it. It reads each
// field once from b; b should be a private copy, not live shared memory,
// so that what was checked is what is used. The ready word is not checked
// here (see CheckReady), nor is the file's real size (compare FileSize).
func Decode(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, want %d", ErrShort, len(b), HeaderSize)
	}
	if string(b[MagicOffset:MagicOffset+MagicSize]) != Magic {
		return Header{}, fmt.Errorf("%w: %q", ErrMagic, b[MagicOffset:MagicOffset+MagicSize])
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[VersionOffset:]); v != Version {
		return Header{}, fmt.Errorf("%w: file version=%d, this code reads version=%d", ErrVersion, v, Version)
	}
	h := Header{
		Kind:            Kind(le.Uint32(b[KindOffset:])),
		SlotSize:        le.Uint32(b[SlotSizeOffset:]),
		SlotHeaderSize:  le.Uint32(b[SlotHeaderSizeOffset:]),
		SlotCount:       le.Uint64(b[SlotCountOffset:]),
		SlotStride:      le.Uint64(b[SlotStrideOffset:]),
		ControlOffset:   le.Uint64(b[ControlOffsetOffset:]),
		ControlSize:     le.Uint64(b[ControlSizeOffset:]),
		SlotsOffset:     le.Uint64(b[SlotsOffsetOffset:]),
		FileSize:        le.Uint64(b[FileSizeOffset:]),
		CreatorPID:      le.Uint32(b[CreatorPIDOffset:]),
		CreatedUnixNano: int64(le.Uint64(b[CreatedUnixNanoOffset:])),
		MaxProducers:    le.Uint32(b[MaxProducersOffset:]),
		MaxConsumers:    le.Uint32(b[MaxConsumersOffset:]),
		Records:         le.Uint32(b[FlagsOffset:])&HeaderFlagRecords != 0,
	}
	if err := h.checkGeometry(b); err != nil {
		return Header{}, err
	}
	if got, want := le.Uint32(b[ChecksumOffset:]), Checksum(b); got != want {
		return Header{}, fmt.Errorf("%w: stored=%#08x computed=%#08x", ErrChecksum, got, want)
	}
	return h, nil
}

// checkGeometry accepts exactly the geometry NewHeader would have made for
// the header's kind, slot size and count: anything else is a file this code
// did not write and must not trust.
func (h *Header) checkGeometry(b []byte) error {
	le := binary.LittleEndian
	if v := le.Uint32(b[HeaderSizeOffset:]); v != HeaderSize {
		return fmt.Errorf("%w: header size=%d, want %d", ErrGeometry, v, HeaderSize)
	}
	if v := le.Uint32(b[PadUnitOffset:]); v != PadUnit {
		return fmt.Errorf("%w: padding unit=%d, want %d", ErrGeometry, v, PadUnit)
	}
	t, ok := telemetryOf(le.Uint32(b[FlagsOffset:]) &^ HeaderFlagRecords)
	if !ok {
		return fmt.Errorf("%w: flags=%#x, want only the bits of %#x", ErrGeometry, le.Uint32(b[FlagsOffset:]), HeaderFlagsMask)
	}
	h.Telemetry = t
	for i, c := range b[ReservedOffset : ReservedOffset+ReservedSize] {
		if c != 0 {
			return fmt.Errorf("%w: reserved byte %d=%#x, want 0", ErrGeometry, ReservedOffset+i, c)
		}
	}
	want, err := NewHeaderFor(Params{Kind: h.Kind, SlotSize: h.SlotSize, SlotCount: h.SlotCount,
		MaxProducers: h.MaxProducers, MaxConsumers: h.MaxConsumers, Records: h.Records, Telemetry: h.Telemetry})
	if err != nil {
		return err
	}
	if h.MaxProducers == 0 || h.MaxConsumers == 0 {
		return fmt.Errorf("%w: max producers=%d consumers=%d, want non-zero", ErrGeometry, h.MaxProducers, h.MaxConsumers)
	}
	if h.SlotHeaderSize != want.SlotHeaderSize {
		return fmt.Errorf("%w: slot header size=%d, want %d", ErrGeometry, h.SlotHeaderSize, want.SlotHeaderSize)
	}
	if h.MaxProducers != want.MaxProducers || h.MaxConsumers != want.MaxConsumers {
		return fmt.Errorf("%w: max producers=%d consumers=%d, want %d and %d",
			ErrGeometry, h.MaxProducers, h.MaxConsumers, want.MaxProducers, want.MaxConsumers)
	}
	if h.SlotStride != want.SlotStride || h.ControlOffset != want.ControlOffset ||
		h.ControlSize != want.ControlSize || h.SlotsOffset != want.SlotsOffset || h.FileSize != want.FileSize {
		return fmt.Errorf("%w: stride=%d control=%d+%d slots=%d file=%d, want %d %d+%d %d %d",
			ErrGeometry, h.SlotStride, h.ControlOffset, h.ControlSize, h.SlotsOffset, h.FileSize,
			want.SlotStride, want.ControlOffset, want.ControlSize, want.SlotsOffset, want.FileSize)
	}
	h.EndOffset, h.CountersOffset = want.EndOffset, want.CountersOffset
	return nil
}
