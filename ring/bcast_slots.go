package ring

import "github.com/shmring/shmring/layout"

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
func (g *slotArea) classify(s, q uint64) seqState {
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
