package layout

// Version is the layout version this package reads and writes. Any change to
// an offset, a field's meaning or the slot format bumps it; Open refuses
// every other version.
//
// Version 2 added the MPMC, MPSC and Broadcast kinds (section 12 of
// LAYOUT.md); the SPSC format is otherwise that of version 1. Version 3
// added the end unit (EndAlign, EndMark): a file's last unit, on a page of
// its own, whose mark tells a reader that the file was not shrunk. Version
// 4 added record rings (HeaderFlagRecords, section 17), the counter area
// between the data and the end unit (section 16) and the telemetry bits of
// the header's Flags word; the header, control areas and slots did not
// move (LAYOUT.md section 12).
const Version = 4

// Magic opens every ring file.
const Magic = "SHMRING\x00"

// ReadyValue is stored in the ready word, last, once the creator has written
// and checksummed the header ("RDY!" in little-endian bytes). Zero means the
// file is still being built; any other value is corruption.
const ReadyValue uint32 = 0x21594452

// Kind says which algorithm a ring file is built for.
type Kind uint32

// Ring kinds.
const (
	KindSPSC      Kind = 1 // one producer, one consumer
	KindMPMC      Kind = 2 // many producers, many consumers, each message to one consumer
	KindMPSC      Kind = 3 // the MPMC format and algorithm with one consumer
	KindBroadcast Kind = 4 // one producer, many readers, each message to every reader
)

// String names the kind as Go's ring.Kind does: "spsc", "mpmc", "mpsc",
// "broadcast", or "kind(N)" for a value no version defines.
func (k Kind) String() string {
	switch k {
	case KindSPSC:
		return "spsc"
	case KindMPMC:
		return "mpmc"
	case KindMPSC:
		return "mpsc"
	case KindBroadcast:
		return "broadcast"
	}
	return "kind(" + itoa(uint64(k)) + ")"
}

// The file, as running sums. Every offset of a word used atomically is a
// multiple of its size; align_test.go checks it.
const (
	// PadUnit is the padding unit: one per mutable counter group, two
	// 64-byte cache lines so the adjacent-line prefetcher cannot couple a
	// producer-written line with a consumer-written one. Fixed, never
	// derived from the CPU: every process must agree on the file.
	PadUnit = 128

	// Header fields.
	HeaderOffset          = 0
	MagicOffset           = HeaderOffset
	MagicSize             = 8
	VersionOffset         = MagicOffset + MagicSize   // uint32
	KindOffset            = VersionOffset + 4         // uint32
	HeaderSizeOffset      = KindOffset + 4            // uint32
	PadUnitOffset         = HeaderSizeOffset + 4      // uint32
	SlotSizeOffset        = PadUnitOffset + 4         // uint32
	SlotHeaderSizeOffset  = SlotSizeOffset + 4        // uint32
	SlotCountOffset       = SlotHeaderSizeOffset + 4  // uint64
	SlotStrideOffset      = SlotCountOffset + 8       // uint64
	ControlOffsetOffset   = SlotStrideOffset + 8      // uint64
	ControlSizeOffset     = ControlOffsetOffset + 8   // uint64
	SlotsOffsetOffset     = ControlSizeOffset + 8     // uint64
	FileSizeOffset        = SlotsOffsetOffset + 8     // uint64
	CreatorPIDOffset      = FileSizeOffset + 8        // uint32
	FlagsOffset           = CreatorPIDOffset + 4      // uint32
	CreatedUnixNanoOffset = FlagsOffset + 4           // int64
	MaxProducersOffset    = CreatedUnixNanoOffset + 8 // uint32
	MaxConsumersOffset    = MaxProducersOffset + 4    // uint32
	ReservedOffset        = MaxConsumersOffset + 4
	ReservedSize          = 16
	ChecksumOffset        = ReservedOffset + ReservedSize // uint32, CRC-32C of [0, ChecksumOffset)
	ReadyOffset           = ChecksumOffset + 4            // uint32, written last
	HeaderSize            = ReadyOffset + 4               // 128: exactly one unit

	// Control area: the SPSC counters, each group on its own unit. The
	// other kinds lay out their own control areas (mpmc.go, broadcast.go)
	// from the same ControlOffset.
	ControlOffset = HeaderOffset + PadUnit

	// ProducerCursorOffset (uint64): the producer has published every
	// position below this value. Written only by the producer.
	ProducerCursorOffset = ControlOffset

	// The producer's cold unit: written by the producer, read by
	// consumers only when they sleep or check liveness.
	producerColdOffset = ProducerCursorOffset + PadUnit
	// ProducerWakeOffset (uint32): the futex word consumers sleep on; the
	// producer adds one to it before waking them.
	ProducerWakeOffset = producerColdOffset
	// ProducerSleepersOffset (uint32): non-zero while the producer sleeps,
	// or is about to, waiting for space; the consumer clears it when it
	// wakes the producer.
	ProducerSleepersOffset = ProducerWakeOffset + 4
	// ProducerStateOffset (uint32): StateAttached and StateClosed bits.
	ProducerStateOffset = ProducerSleepersOffset + 4
	// ProducerEpochOffset (uint32): how many times the role was taken.
	ProducerEpochOffset = ProducerStateOffset + 4
	// ProducerFlagsOffset (uint32): FlagReleaseStores when the producer
	// publishes its cursor with plain release stores (see package ring).
	ProducerFlagsOffset = ProducerEpochOffset + 4

	// ConsumerCursorOffset (uint64): the consumer has released every
	// position below this value. Written only by the consumer.
	ConsumerCursorOffset = producerColdOffset + PadUnit

	consumerColdOffset     = ConsumerCursorOffset + PadUnit
	ConsumerWakeOffset     = consumerColdOffset         // uint32, futex word producers sleep on
	ConsumerSleepersOffset = ConsumerWakeOffset + 4     // uint32, non-zero while the consumer sleeps waiting for data
	ConsumerStateOffset    = ConsumerSleepersOffset + 4 // uint32
	ConsumerEpochOffset    = ConsumerStateOffset + 4    // uint32
	ConsumerFlagsOffset    = ConsumerEpochOffset + 4    // uint32

	ControlSize = consumerColdOffset + PadUnit - ControlOffset // 512

	// SlotsOffset is where slot 0 begins.
	SlotsOffset = ControlOffset + ControlSize // 640

	// Slot fields, relative to the slot.
	SlotLengthOffset = 0 // uint32
	// SlotSeqOffset (uint32): the low 32 bits of position+1 of the
	// message the slot last held, stored by the producer after the cursor
	// store that published it. A consumer that finds it equal to
	// uint32(p+1) may read position p without loading the producer's
	// cursor, so streaming moves only slot lines between the cores.
	SlotSeqOffset     = 4
	SlotHeaderSize    = 8
	SlotPayloadOffset = SlotHeaderSize

	// EndAlign: the end unit starts at the first multiple of EndAlign at
	// or after the last slot, so it shares no page with a slot on any
	// page size up to 64 KiB (the largest base page of the platforms
	// shmring builds for). A peer that truncates the file anywhere before
	// the end unit makes the whole end page go away before the kernel
	// zeroes the tail of the page it cut inside: a reader that finds the
	// mark intact after copying a message knows that no byte it copied
	// was zeroed by a truncation.
	EndAlign = 64 << 10
	// EndSize is the end unit: EndMark in its first 8 bytes, the rest zero.
	EndSize = PadUnit

	// ProducerLockByte and ConsumerLockByte are the file bytes whose OFD
	// write locks mark a live holder of each role.
	ProducerLockByte = ProducerStateOffset
	ConsumerLockByte = ConsumerStateOffset
)

// EndMark is stored by the creator in the end unit before the file is
// marked ready, and never changes ("SHMREND!" in little-endian bytes).
const EndMark uint64 = 0x21444e45524d4853

// Role state bits (ProducerStateOffset, ConsumerStateOffset).
const (
	StateAttached uint32 = 1 << 0 // a process took the role and has not closed it
	StateClosed   uint32 = 1 << 1 // producer only: end of stream
	StateMask            = StateAttached | StateClosed
)

// Role flag bits (ProducerFlagsOffset, ConsumerFlagsOffset).
const (
	// FlagReleaseStores: the role holder publishes its cursor with a plain
	// release store (no StoreLoad fence), so a sleeper on the other side
	// must force one with membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)
	// after announcing itself and before re-checking.
	FlagReleaseStores uint32 = 1 << 0
	FlagMask                 = FlagReleaseStores
)

// Limits on geometry. They keep every offset computation far from
// overflow and every slot length inside a uint32.
const (
	MaxSlotSize  = 1 << 30 // 1 GiB payload per slot
	MaxSlotCount = 1 << 31 // below 2^32, so a slot's 32-bit seq from the previous lap never matches
	MaxFileSize  = 1 << 44 // 16 TiB
	wordAlign    = 8
)

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
