package layout

import "fmt"

// The record format (LAYOUT.md section 17), new in layout Version 4: a ring
// of bytes carrying messages of any length from 0 to MaxMessage, for SPSC
// and Broadcast rings whose header has HeaderFlagRecords set in its Flags
// word.
//
// Such a file keeps its kind's header, control area and end unit; only the
// slot area changes meaning. The header's fields then say:
//
//	SlotSize        MaxMessage: the longest message, at most MaxRecordMessage(Capacity)
//	SlotHeaderSize  RecordHeaderSize (16)
//	SlotCount       Capacity: the data area's size in bytes, a power of two
//	SlotStride      1
//
// and the data area is Capacity bytes at SlotsOffset. Cursors count bytes,
// not messages: position p lives at data offset p mod Capacity, and every
// cursor is a multiple of RecordAlign. Two words of the producer's units,
// unused by slot rings, are the record producer's:
//
//	ControlOffset + 8         RecSeq u64   sequence number of the next message (stored before the cursor)
//	ControlOffset + 128 + 32  RecTail u64  broadcast only: every position below it may be overwritten
//
// A record, at a position that is a multiple of RecordAlign:
//
//	 0               1               2               3
//	 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//	+---------------------------------------------------------------+
//	|                 Length (payload bytes, u32)                   |  +0
//	+---------------------------------------------------------------+
//	|            Type (RecordMessage or RecordPadding, u32)         |  +4
//	+---------------------------------------------------------------+
//	|                  Seq (message number, u64)                    |  +8
//	|                                                               |
//	+---------------------------------------------------------------+
//	|            Payload: Length bytes, then zero to 15 bytes       |  +16
//	|            of slack up to the next RecordAlign boundary       |
//	+---------------------------------------------------------------+
//
// A message record takes RecordSize(Length) bytes and never crosses the end
// of the data area: where the next message does not fit before the end, the
// producer first writes a padding record whose Length is the bytes from its
// payload to the end (so it ends exactly there), and the message starts the
// next lap at data offset 0. A padding record carries the Seq of the
// message after it. A record is published when the producer's cursor has
// passed its end; the padding and the message it makes room for are
// published by the same store.
const (
	// HeaderFlagRecords in the header's Flags word: the ring carries
	// records, not slots.
	HeaderFlagRecords uint32 = 1 << 0
	// HeaderFlagsMask is every header flag this version defines.
	HeaderFlagsMask = HeaderFlagRecords | headerFlagMask

	RecordLengthOffset = 0 // u32
	RecordTypeOffset   = 4 // u32
	RecordSeqOffset    = 8 // u64
	RecordHeaderSize   = 16
	RecordPayload      = RecordHeaderSize

	// RecordAlign: every record starts on a multiple of it, so its header
	// words are aligned for atomic access and its payload for vector
	// copies, and the bytes left before the end of the data area are
	// never too few for a padding record's header.
	RecordAlign = 16

	// RecSeqOffset (u64): the sequence number the producer gives its next
	// message; stored before each cursor store, read by a producer taking
	// the role over.
	RecSeqOffset = ControlOffset + 8
	// RecTailOffset (u64, Broadcast only): every position below it may
	// be overwritten, and a record starts at it. The producer stores it
	// before it writes a byte at or past RecTail + Capacity; a lossy
	// reader that finds it past the record it read discards what it read.
	// It sits in the producer's cold unit after BcastGate, not beside the
	// cursor: lossy readers load it after every read and the producer
	// stores it once per eighth of a ring, so its line stays in their
	// caches while the cursor's moves on every publish.
	RecTailOffset = BcastGateOffset + 8

	// MinRecordCapacity and MaxRecordCapacity bound a record ring's data
	// area.
	MinRecordCapacity = 64
	MaxRecordCapacity = 1 << 40
)

// Record types. Zero is never written: a record of type zero is corrupt.
const (
	RecordMessage uint32 = 1
	RecordPadding uint32 = 2
)

// RecordSize is the bytes a message of n payload bytes takes in the ring:
// its header and payload rounded up to RecordAlign.
func RecordSize(n uint32) uint64 { return roundUp(RecordHeaderSize+uint64(n), RecordAlign) }

// MaxRecordMessage is the longest message a record ring of capacity bytes
// guarantees to carry: one that fits in an empty ring wherever its producer
// stands. A record of size s may need up to s-RecordAlign bytes of padding
// before it, so 2s-RecordAlign must fit in capacity: s <= capacity/2, and
// the message is that less its header (also at most MaxSlotSize).
func MaxRecordMessage(capacity uint64) uint32 {
	if capacity < MinRecordCapacity {
		return 0
	}
	return uint32(min(capacity/2-RecordHeaderSize, MaxSlotSize))
}

// recordGeometry checks a record ring's parameters: kind, capacity and
// message bound.
func (p Params) recordGeometry() error {
	if p.Kind != KindSPSC && p.Kind != KindBroadcast {
		return fmt.Errorf("%w: kind=%v carries no records (SPSC and Broadcast do)", ErrGeometry, p.Kind)
	}
	c := p.SlotCount
	if c < MinRecordCapacity || c > MaxRecordCapacity || c&(c-1) != 0 {
		return fmt.Errorf("%w: record capacity=%d, want a power of two in %d..%d", ErrGeometry, c, MinRecordCapacity, uint64(MaxRecordCapacity))
	}
	if p.SlotSize > MaxRecordMessage(c) {
		return fmt.Errorf("%w: max message=%d, a %d-byte record ring carries at most %d", ErrGeometry, p.SlotSize, c, MaxRecordMessage(c))
	}
	return nil
}
