package ring

import (
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// bcastSlots is a broadcast ring's slot geometry, in process-local copies
// taken from the validated header (never re-read from the mapping).
type bcastSlots struct {
	base     unsafe.Pointer // slot 0
	mask     uint64         // slots - 1
	slots    uint64
	stride   uint64
	slotSize uint32
}

func (r *Ring) bcastSlots() bcastSlots {
	return bcastSlots{
		base:     unsafe.Pointer(&r.mem[r.hdr.SlotsOffset]),
		mask:     r.hdr.SlotCount - 1,
		slots:    r.hdr.SlotCount,
		stride:   r.hdr.SlotStride,
		slotSize: r.hdr.SlotSize,
	}
}

func (g *bcastSlots) slot(pos uint64) unsafe.Pointer {
	return unsafe.Add(g.base, (pos&g.mask)*g.stride)
}

// seq is the slot's sequence word (the seqlock).
func (g *bcastSlots) seq(pos uint64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(g.slot(pos), layout.BcastSlotSeqOffset))
}

func (g *bcastSlots) length(pos uint64) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Add(g.slot(pos), layout.BcastSlotLengthOffset))
}

func (g *bcastSlots) payload(pos uint64, n uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(g.slot(pos), layout.BcastSlotPayloadOffset)), n)
}

// What a slot's seq word says about position q to a reader.
type seqState int

const (
	seqReady   seqState = iota // q is published
	seqPending                 // q is not published yet (never written, an older lap, or being written)
	seqOverrun                 // a later position is (being) written over q: q is gone
	seqBogus                   // no producer writes this value into q's slot
)

// classify reads s, a seq loaded from q's slot. Only equality with q+1
// means published. A value of a later position that maps to the same slot
// (marker or published) means q was overwritten; 0, an older lap's value or
// q's own writing marker mean not yet. A value for a position of another
// slot is corruption.
func (g *bcastSlots) classify(s, q uint64) seqState {
	if s == q+1 {
		return seqReady
	}
	if s == 0 {
		return seqPending
	}
	v := s &^ layout.SeqWriting
	if v == 0 || (v-1)&g.mask != q&g.mask {
		return seqBogus
	}
	if v <= q+1 {
		return seqPending
	}
	return seqOverrun
}
