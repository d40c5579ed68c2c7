package layout

// The MPMC and MPSC control area and slot format (LAYOUT.md section 13).
//
// Each slot's control word is the truth about that slot: a compare-and-swap
// on it claims the slot for one position and records the claimant in the
// same atomic step, so a process that dies at any instruction leaves a
// slot whose owner is known. Tail and Head are hints that let producers and
// consumers find the frontier without scanning; any party moves them
// forward once the slot at the hint has been taken.
//
//	ControlOffset + 0 unit   Tail u64      next position to claim (hint; producers CAS it forward)
//	              + 1 unit   Head u64      next position to consume (hint; consumers CAS it forward)
//	              + 2 units  DataWake u32, DataSleepers u32, Producers u32, Stream u32
//	              + 3 units  SpaceWake u32, SpaceSleepers u32, Consumers u32
//	              + 4 units  participant entries: MaxProducers producers, then MaxConsumers consumers
//
// A participant entry, one unit each:
//
//	+0  State u32        EntryFree, EntryAttached or EntryLeft; its first byte is the holder's OFD lock byte
//	+4  Incarnation u32  bumped each time the entry is taken
//	+8  PID u32          the holder, for tools
//	+12 Flags u32        zero
//	+16 Messages u64     committed (producer) or released (consumer), written by the holder
//	+24 Repaired u64     slots this entry's holder repaired for dead peers
//
// A slot (MPMCSlotHeaderSize bytes of header, then the payload):
//
//	+0  Ctrl u64         seq u32 (bits 63..32) | state (31..29) | owner (28..0)
//	+8  Length u32       payload length, written by the claimant before it publishes
//	+12 zero u32
const (
	MPMCTailOffset = ControlOffset
	MPMCHeadOffset = ControlOffset + PadUnit

	mpmcProducerColdOffset = ControlOffset + 2*PadUnit
	// MPMCDataWakeOffset (u32): the futex word consumers sleep on when
	// the ring is empty; producers add one before waking them.
	MPMCDataWakeOffset = mpmcProducerColdOffset
	// MPMCDataSleepersOffset (u32): an epoch and how many consumers sleep,
	// or are about to, waiting for a message (SleepersCount).
	MPMCDataSleepersOffset = mpmcProducerColdOffset + 4
	// MPMCProducersOffset (u32): producer entries attached now. With the
	// Stream word after it, the low half of one u64 that every update
	// changes by compare-and-swap (ProducerWord).
	MPMCProducersOffset = mpmcProducerColdOffset + 8
	// MPMCStreamOffset (u32): StreamClosed once the last attached producer
	// closed; cleared when a producer attaches. The high half of the u64
	// at MPMCProducersOffset.
	MPMCStreamOffset = mpmcProducerColdOffset + 12

	mpmcConsumerColdOffset  = ControlOffset + 3*PadUnit
	MPMCSpaceWakeOffset     = mpmcConsumerColdOffset     // u32: producers sleep on it when the ring is full
	MPMCSpaceSleepersOffset = mpmcConsumerColdOffset + 4 // u32: an epoch and how many producers sleep, or are about to (SleepersCount)
	MPMCConsumersOffset     = mpmcConsumerColdOffset + 8 // u32: consumer entries attached now

	MPMCEntriesOffset = ControlOffset + 4*PadUnit
	mpmcFixedUnits    = 4

	// Entry fields, relative to the entry.
	EntrySize              = PadUnit
	EntryStateOffset       = 0
	EntryIncarnationOffset = 4
	EntryPIDOffset         = 8
	EntryFlagsOffset       = 12
	EntryMessagesOffset    = 16
	EntryRepairedOffset    = 24
	EntryLockByte          = EntryStateOffset

	// Slot fields, relative to the slot.
	MPMCSlotCtrlOffset    = 0
	MPMCSlotLengthOffset  = 8
	MPMCSlotHeaderSize    = 16
	MPMCSlotPayloadOffset = MPMCSlotHeaderSize

	// MaxParticipants bounds MaxProducers+MaxConsumers: an owner field
	// holds an entry index in 10 bits.
	MaxParticipants = 1 << ownerIndexBits
	// MaxMPMCSlotCount keeps a slot's 32-bit seq unambiguous: the
	// distance between two positions of one slot, a lap, stays below 2^31.
	MaxMPMCSlotCount = 1 << 30
)

// Entry states. EntryLeft is a consumer entry whose holder closed while it
// held messages it had not released (a lease, a Recv refused for a short
// buffer, leases taken over from a dead consumer): another consumer reaps the entry
// and delivers them, as it would a dead holder's, but no peer counts the
// entry as attached, so a producer waiting on a full ring does not take a
// clean Close for a death.
const (
	EntryFree     uint32 = 0
	EntryAttached uint32 = 1
	EntryLeft     uint32 = 2
)

// The Sleepers words (MPMCDataSleepersOffset, MPMCSpaceSleepersOffset):
// an epoch in the high bits and, in the low SleepersCountBits, how many
// participants announced themselves as sleepers in that epoch and have not
// withdrawn. A waker that finds the count not zero starts a new epoch with
// a count of zero (one CAS) and wakes every sleeper; a sleeper withdraws
// (count minus one) only while the epoch it announced in lasts. So a wake
// is made once per sleep, not once per message, and an announcement left
// by a process that died costs one wake at most: the next waker clears it.
const (
	SleepersCountBits  = 12
	SleepersCountMask  = 1<<SleepersCountBits - 1
	SleepersEpochShift = SleepersCountBits
)

// SleepersCount is the count in a Sleepers word.
func SleepersCount(w uint32) uint32 { return w & SleepersCountMask }

// SleepersEpoch is the epoch in a Sleepers word.
func SleepersEpoch(w uint32) uint32 { return w >> SleepersEpochShift }

// NextSleepersEpoch is the word a waker stores over w: the next epoch, with
// a count of zero.
func NextSleepersEpoch(w uint32) uint32 { return (SleepersEpoch(w) + 1) << SleepersEpochShift }

// Stream states (MPMCStreamOffset). Zero is open.
const (
	// StreamClosed: the last attached producer closed; consumers drain
	// what was published, then see the end of the stream.
	StreamClosed uint32 = 1
	// StreamPeerDead: the last attached producer died and a peer reaped
	// its entry; consumers drain what was published, then see ErrPeerDead.
	StreamPeerDead uint32 = 2
	streamMax             = StreamPeerDead
)

// ValidStream reports whether a value read from MPMCStreamOffset is one this
// format defines.
func ValidStream(s uint32) bool { return s <= streamMax }

// ProducerWord is the u64 at MPMCProducersOffset: the Producers count in
// its low half, the Stream word in its high half (little-endian, so each
// is also the u32 at its own offset). The last producer's leave and the
// mark that ends the stream are one compare-and-swap of it.
func ProducerWord(producers, stream uint32) uint64 { return uint64(stream)<<32 | uint64(producers) }

// ProducerWordParts splits a ProducerWord.
func ProducerWordParts(w uint64) (producers, stream uint32) { return uint32(w), uint32(w >> 32) }

// Slot states, bits 31..29 of a slot's control word.
const (
	SlotFree     uint32 = 0 // empty, ready for position seq
	SlotClaimed  uint32 = 1 // a producer (owner) is writing position seq
	SlotFull     uint32 = 2 // position seq is published
	SlotReading  uint32 = 3 // a consumer (owner) holds position seq
	SlotSkipped  uint32 = 4 // position seq was claimed by a producer that died; carries no message
	slotStateMax        = SlotSkipped
)

const (
	ownerBits       = 29
	ownerIndexBits  = 10
	incarnationBits = ownerBits - ownerIndexBits // 19
	ownerMask       = 1<<ownerBits - 1
	incarnationMask = 1<<incarnationBits - 1
	ctrlStateShift  = ownerBits
	ctrlStateMask   = 7
	ctrlSeqShift    = 32
)

// Ctrl encodes a slot control word for position pos.
func Ctrl(pos uint64, state, owner uint32) uint64 {
	return uint64(uint32(pos))<<ctrlSeqShift | uint64(state&ctrlStateMask)<<ctrlStateShift | uint64(owner&ownerMask)
}

// CtrlSeq is the low 32 bits of the position a control word is about.
func CtrlSeq(w uint64) uint32 { return uint32(w >> ctrlSeqShift) }

// CtrlState is the slot state in a control word. Values above SlotSkipped
// are corrupt (ValidSlotState).
func CtrlState(w uint64) uint32 { return uint32(w>>ctrlStateShift) & ctrlStateMask }

// CtrlOwner is the owner field of a control word: meaningful in SlotClaimed
// and SlotReading, zero in the others.
func CtrlOwner(w uint64) uint32 { return uint32(w) & ownerMask }

// ValidSlotState reports whether a state read from a slot is one this
// format defines.
func ValidSlotState(s uint32) bool { return s <= slotStateMax }

// Owner names the holder of a claim: its entry index and the low bits of
// the entry's incarnation, so a claim left by an earlier holder of the same
// entry is told apart from the present holder's.
func Owner(index, incarnation uint32) uint32 {
	return index<<incarnationBits | incarnation&incarnationMask
}

// OwnerIndex is the participant entry index of an owner field.
func OwnerIndex(o uint32) uint32 { return (o & ownerMask) >> incarnationBits }

// OwnerIncarnation is the incarnation of an owner field: which taking of
// the entry the owner was.
func OwnerIncarnation(o uint32) uint32 { return o & incarnationMask }

// SameIncarnation compares an entry's full incarnation with an owner's.
func SameIncarnation(o, incarnation uint32) bool {
	return OwnerIncarnation(o) == incarnation&incarnationMask
}

// MPMCEntryOffset is the file offset of participant entry i.
func MPMCEntryOffset(i uint32) uint64 { return MPMCEntriesOffset + uint64(i)*EntrySize }

func mpmcControlSize(maxProducers, maxConsumers uint32) uint64 {
	return (mpmcFixedUnits + uint64(maxProducers) + uint64(maxConsumers)) * PadUnit
}
