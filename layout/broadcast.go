package layout

// The Broadcast control area and slot format (LAYOUT.md section 14).
//
// One producer publishes every position to every reader. Each slot carries
// a 64-bit sequence that works as a seqlock: a lossy reader that copies a
// message checks the sequence again afterwards and so never returns a
// message the producer overwrote while it was being read.
//
//	ControlOffset + 0 unit   Cursor u64   the producer has published every position below it
//	              + 1 unit   Wake u32, Sleepers u32, State u32, Epoch u32, Flags u32, Gate u64 @+24
//	              + 2 units  GateWake u32, GateSleepers u32 (the producer waiting on lossless readers)
//	              + 3 units  reader entries, MaxConsumers of them (MaxReaders), one unit each
//
// A reader entry:
//
//	+0  Cursor u64       the reader has consumed every position below it (written by the reader)
//	+8  State u32        ReaderFree or ReaderAttached; its first byte is the reader's OFD lock byte
//	+12 Policy u32       PolicyLossy or PolicyLossless
//	+16 Incarnation u32  bumped each time the entry is taken
//	+20 PID u32          the reader, for tools
//	+24 Received u64     messages delivered (written by the reader)
//	+32 Missed u64       messages a lossy reader was lapped over (written by the reader)
//
// A slot:
//
//	+0  Seq u64          0: never written; p+1: position p published; (p+1)|SeqWriting: being written
//	+8  Length u32
//	+12 zero u32
const (
	BcastCursorOffset = ControlOffset

	bcastProducerColdOffset = ControlOffset + PadUnit
	// BcastWakeOffset (u32): the futex word readers sleep on; the
	// producer adds one before waking them.
	BcastWakeOffset = bcastProducerColdOffset
	// BcastSleepersOffset (u32): non-zero while some reader sleeps, or is
	// about to; readers set it to 1, the producer swaps it to 0 when it
	// wakes them (once per round of sleeps, not once per sleeper).
	BcastSleepersOffset      = bcastProducerColdOffset + 4
	BcastProducerStateOffset = bcastProducerColdOffset + 8  // u32: StateAttached, StateClosed
	BcastProducerEpochOffset = bcastProducerColdOffset + 12 // u32
	BcastProducerFlagsOffset = bcastProducerColdOffset + 16 // u32: FlagReleaseStores
	// BcastGateOffset (u64): the producer never writes a position at or
	// beyond Gate+SlotCount until it has looked at the reader table again;
	// it stores the value it computed after each look. For tools: a
	// joining lossless reader bounds what it may lose by the producer's
	// cursor instead (LAYOUT.md section 14.7), since a scan that missed it
	// may store its gate after the reader looked.
	BcastGateOffset       = bcastProducerColdOffset + 24
	BcastProducerLockByte = BcastProducerStateOffset

	bcastGateUnitOffset = ControlOffset + 2*PadUnit
	// BcastGateWakeOffset (u32): the futex word the producer sleeps on
	// when the slowest lossless reader is a whole ring behind; lossless
	// readers add one before waking it.
	BcastGateWakeOffset = bcastGateUnitOffset
	// BcastGateSleepersOffset (u32): non-zero while the producer sleeps,
	// or is about to.
	BcastGateSleepersOffset = bcastGateUnitOffset + 4

	BcastReadersOffset = ControlOffset + 3*PadUnit
	bcastFixedUnits    = 3

	// Reader entry fields, relative to the entry.
	ReaderEntrySize         = PadUnit
	ReaderCursorOffset      = 0
	ReaderStateOffset       = 8
	ReaderPolicyOffset      = 12
	ReaderIncarnationOffset = 16
	ReaderPIDOffset         = 20
	ReaderReceivedOffset    = 24
	ReaderMissedOffset      = 32
	ReaderLockByte          = ReaderStateOffset

	// Slot fields, relative to the slot.
	BcastSlotSeqOffset     = 0
	BcastSlotLengthOffset  = 8
	BcastSlotHeaderSize    = 16
	BcastSlotPayloadOffset = BcastSlotHeaderSize

	// MaxReaders bounds a broadcast ring's reader table.
	MaxReaders = 1024
)

// SeqWriting marks a broadcast slot whose next message is being written.
const SeqWriting uint64 = 1 << 63

// Reader entry states and policies.
const (
	ReaderFree     uint32 = 0
	ReaderAttached uint32 = 1

	PolicyLossy    uint32 = 1
	PolicyLossless uint32 = 2
)

// BcastReaderOffset is the file offset of reader entry i.
func BcastReaderOffset(i uint32) uint64 { return BcastReadersOffset + uint64(i)*ReaderEntrySize }

func bcastControlSize(maxReaders uint32) uint64 {
	return (bcastFixedUnits + uint64(maxReaders)) * PadUnit
}
