package codec

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A Mix gives every message a length drawn from its sequence number, so that
// a receiver knows each message's length without it being sent: the same
// Mix on both ends of a stream (pipes, stream sockets) reads exactly the
// bytes each message has.
//
// The distribution is log-uniform from Min to Max: every octave is as
// likely as any other (as many 64–128 B messages as 32–64 KiB ones), so
// most messages are small and most bytes are in the large ones — a market
// data feed with a video stream beside it. It is quantised to mixLevels
// lengths spaced evenly in log(length), Min and Max among them; the level
// is the low bits of Digest(seq), so neighbouring messages are unrelated.
type Mix struct {
	lo, hi int
	table  []int32 // mixLevels lengths, ascending
}

const mixLevels = 1 << 12

// NewMix is the mix of lengths from lo to hi bytes (MinSize ≤ lo ≤ hi
// ≤ 1 GiB).
func NewMix(lo, hi int) (*Mix, error) {
	if lo < MinSize || hi < lo || hi > 1<<30 {
		return nil, fmt.Errorf("mix %d-%d: want %d ≤ smallest ≤ largest ≤ 1 GiB", lo, hi, MinSize)
	}
	m := &Mix{lo: lo, hi: hi, table: make([]int32, mixLevels)}
	ratio := float64(hi) / float64(lo)
	for i := range m.table {
		n := int(math.Round(float64(lo) * math.Pow(ratio, float64(i)/(mixLevels-1))))
		m.table[i] = int32(max(lo, min(n, hi)))
	}
	return m, nil
}

// Min and Max are the shortest and longest lengths.
func (m *Mix) Min() int { return m.lo }
func (m *Mix) Max() int { return m.hi }

// Len is the length of message seq.
func (m *Mix) Len(seq uint64) int { return int(m.table[Digest(seq)&(mixLevels-1)]) }

// Mean is the mean length over the levels: what a long stream averages.
func (m *Mix) Mean() float64 {
	var sum float64
	for _, n := range m.table {
		sum += float64(n)
	}
	return sum / mixLevels
}

// EndsSize is the smallest message PutEnds stamps at both ends; a shorter
// one carries its sequence number once, at the start.
const EndsSize = 16

// PutEnds writes seq into msg's first 8 bytes and, from EndsSize bytes on,
// into its last 8, leaving the rest as it was: the stamp of a run that
// measures a medium's own cost, without the sender's fill and the
// receiver's check of every byte. A message whose end was not delivered
// with its start (torn, or a previous one's left over) fails VerifyEnds.
func PutEnds(msg []byte, seq uint64) {
	binary.LittleEndian.PutUint64(msg[SeqOffset:], seq)
	if len(msg) >= EndsSize {
		binary.LittleEndian.PutUint64(msg[len(msg)-8:], seq)
	}
}

// VerifyEnds checks a message PutEnds stamped with seq; the error wraps
// ErrIntegrity.
func VerifyEnds(msg []byte, seq uint64) error {
	if got := binary.LittleEndian.Uint64(msg[SeqOffset:]); got != seq {
		return fmt.Errorf("%w: got sequence number %d, want %d (message lost, repeated or reordered)", ErrIntegrity, got, seq)
	}
	if len(msg) >= EndsSize {
		if got := binary.LittleEndian.Uint64(msg[len(msg)-8:]); got != seq {
			return fmt.Errorf("%w: message %d of %d bytes ends with sequence number %d (torn, or its end not delivered)", ErrIntegrity, seq, len(msg), got)
		}
	}
	return nil
}
