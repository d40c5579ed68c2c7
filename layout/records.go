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
//	|            Type (RecordMessage or RecordWrapped, u32)         |  +4
//	+---------------------------------------------------------------+
//	|                  Seq (message number, u64)                    |  +8
//	|                                                               |
//	+---------------------------------------------------------------+
//	|            Payload: Length bytes, then zero to 15 bytes       |  +16
//	|            of slack up to the next RecordAlign boundary       |
//	+---------------------------------------------------------------+
//
// A message whose record fits before the end of the data area is a
// RecordMessage there: RecordSize(Length) bytes. One that does not is a
// RecordWrapped: its header stays at the producer's position, the bytes
// after the header up to the end of the data area are slack, and the
// payload (and its slack to RecordAlign) starts the next lap at data
// offset 0, so every message is contiguous and the wrap costs no second
// header. A record is published when the producer's cursor has passed its
// end: the payload's slack, for a wrapped one.
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
	// never too few for a wrapped record's header.
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

// Record types. Zero is never written: a record of type zero is corrupt,
// and so is 2, the padding record of a pre-release draft of this format
// (a message after a padding record of its own), which no writer makes.
const (
	RecordMessage uint32 = 1
	RecordWrapped uint32 = 3
)

// RecordSize is the bytes a message of n payload bytes takes in the ring:
// its header and payload rounded up to RecordAlign.
func RecordSize(n uint32) uint64 { return roundUp(RecordHeaderSize+uint64(n), RecordAlign) }

// RecordBody is the bytes a payload of n bytes takes: n rounded up to
// RecordAlign (a wrapped record's part at the next lap's start).
func RecordBody(n uint32) uint64 { return roundUp(uint64(n), RecordAlign) }

// MaxRecordMessage is the longest message a record ring of capacity bytes
// guarantees to carry: one that fits in an empty ring wherever its producer
// stands. A message of n bytes wraps only where fewer than
// RecordHeaderSize+RecordBody(n) bytes are left before the end, that is at
// most RecordBody(n) (all counts are multiples of RecordAlign), and then
// takes those bytes and RecordBody(n) more: 2*RecordBody(n) <= capacity, so
// n <= capacity/2 (also at most MaxSlotSize).
func MaxRecordMessage(capacity uint64) uint32 {
	if capacity < MinRecordCapacity {
		return 0
	}
	return uint32(min(capacity/2, MaxSlotSize))
}

// CheckRecord checks a record header read at data offset off of a record
// ring of capacity bytes carrying messages of at most max: off a multiple
// of RecordAlign (a reader checks that before it loads the header, which
// at any other offset may cross the end of the data area), and a RecordMessage
// lying whole before the end of the data area, or a RecordWrapped at a
// nonzero offset whose payload, from the next lap's start, stays clear of
// its header (LAYOUT.md section 17.4). It returns where the payload starts
// and where the next record starts, both relative to the record's
// position. A reader must also check the record's end against the
// producer's cursor, and that it passes the record's position.
func CheckRecord(off, capacity uint64, max, n, typ uint32) (body, next uint64, ok bool) {
	if n > max || off%RecordAlign != 0 {
		return 0, 0, false
	}
	switch typ {
	case RecordMessage:
		if off+RecordSize(n) > capacity {
			return 0, 0, false
		}
		body = RecordHeaderSize
	case RecordWrapped:
		if off == 0 || RecordBody(n) > off || off >= capacity {
			return 0, 0, false
		}
		body = capacity - off
	default:
		return 0, 0, false
	}
	return body, body + RecordBody(n), true
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
