package ring

import (
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// slotArea is the slot array of a mapping, for every kind: its geometry in
// process-local copies taken from the validated header (never re-read from
// the mapping), and where layout puts each slot's words for the ring's
// kind. Every engine reaches its slots through it.
type slotArea struct {
	base     unsafe.Pointer // slot 0
	mask     uint64         // slots - 1
	slots    uint64
	stride   uint64
	slotSize uint32
	// The offsets, within a slot, of its length (u32), its sequence word
	// (SPSC: u32 seq; MPMC: u64 control word; Broadcast: u64 seqlock) and
	// its payload.
	lenOff, seqOff, payOff uintptr
}

func (r *Ring) slotArea() slotArea {
	g := slotArea{
		base:     unsafe.Pointer(&r.mem[r.hdr.SlotsOffset]),
		mask:     r.hdr.SlotCount - 1,
		slots:    r.hdr.SlotCount,
		stride:   r.hdr.SlotStride,
		slotSize: r.hdr.SlotSize,
		lenOff:   layout.SlotLengthOffset,
		seqOff:   layout.SlotSeqOffset,
		payOff:   layout.SlotPayloadOffset,
	}
	switch r.hdr.Kind {
	case MPMC, MPSC:
		g.lenOff, g.seqOff, g.payOff = layout.MPMCSlotLengthOffset, layout.MPMCSlotCtrlOffset, layout.MPMCSlotPayloadOffset
	case Broadcast:
		g.lenOff, g.seqOff, g.payOff = layout.BcastSlotLengthOffset, layout.BcastSlotSeqOffset, layout.BcastSlotPayloadOffset
	}
	return g
}

// slot is the address of the slot holding position pos.
func (g *slotArea) slot(pos uint64) unsafe.Pointer {
	return unsafe.Add(g.base, (pos&g.mask)*g.stride)
}

// payload is the first n bytes of pos's slot payload (n <= slotSize).
func (g *slotArea) payload(pos uint64, n uint32) []byte { return g.payloadAt(g.slot(pos), n) }

// length is pos's length word, for loading: read once, checked, then used.
func (g *slotArea) length(pos uint64) *atomic.Uint32 { return g.lengthAt(g.slot(pos)) }

// setLen writes pos's length word with a plain store: only the slot's
// writer stores it, before the store that publishes the slot, which orders
// it (each engine's SYNC POINT).
func (g *slotArea) setLen(pos uint64, n uint32) { g.setLenAt(g.slot(pos), n) }

// payloadAt, lengthAt and setLenAt take the slot's address from slot: a
// hot path that uses two of its words computes it once.
func (g *slotArea) payloadAt(s unsafe.Pointer, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(s, g.payOff)), n)
}

func (g *slotArea) lengthAt(s unsafe.Pointer) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Add(s, g.lenOff))
}

func (g *slotArea) setLenAt(s unsafe.Pointer, n uint32) { *(*uint32)(unsafe.Add(s, g.lenOff)) = n }

// seq is pos's 64-bit sequence word: an MPMC slot's control word, a
// broadcast slot's seqlock.
func (g *slotArea) seq(pos uint64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(g.slot(pos), g.seqOff))
}

// seq32 is pos's 32-bit sequence word (SPSC).
func (g *slotArea) seq32(pos uint64) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Add(g.slot(pos), g.seqOff))
}

// leased is the message of length n, read from the slot at pos earlier, as
// a slice of the mapping made without touching it; a length no producer
// writes is ErrCorrupt.
func (g *slotArea) leased(r *Ring, pos uint64, n uint32) ([]byte, error) {
	if n > g.slotSize {
		return nil, g.badLength(r, pos, n)
	}
	return g.payload(pos, n), nil
}

func (g *slotArea) badLength(r *Ring, pos uint64, n uint32) error {
	return r.corrupt("slot length=%d at position=%d, slot size=%d", n, pos, g.slotSize)
}
