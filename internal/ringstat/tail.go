package ringstat

import (
	"errors"
	"fmt"

	"github.com/shmring/shmring/layout"
)

// Tail follows a ring's messages from outside: it takes no role and writes
// nothing, so the producer never waits for it and never knows it is there.
// It reads slots by the rules a reader of the kind follows (LAYOUT.md) and
// hands out only a message it copied whole; a message it could not copy
// before the ring reused its slot becomes a gap, counted.
//
//   - Broadcast: each slot's 64-bit sequence is a seqlock; Tail reads as a
//     lossy reader does and is lapped like one.
//   - SPSC: a slot is stable from its publication until the consumer
//     releases it, and then the producer may write it at once (a batch may
//     claim it before moving its cursor), so Tail shows a message only if
//     the consumer had not released it when the copy was done. Tail sees
//     every message a lagging consumer has not reached; of a consumer that
//     keeps up, only those it catches in passing.
//   - MPMC and MPSC: a slot's control word names the position it holds and
//     whether it is published; Tail copies a message while it is Full or
//     being read, and the control word tells it whether the copy is whole.
//     Messages that consumers take and release between two looks are gaps.
//   - Record rings (SPSC and Broadcast): Tail walks the record headers,
//     checks each, and validates each copy as above against the consumer's
//     cursor or RecTail; there an event's position is the message's
//     sequence number (tail_rec.go).
type Tail struct {
	mem  []byte
	w    mappedWords
	h    layout.Header
	mask uint64
	q    uint64 // the next position to look at
	buf  []byte
	gap  Event // a gap not yet handed out (Count 0: none)
	emit func(Event) error
	rec  recState // a record ring's
	// path, dev and ino: the file the name led to when the Tail was
	// opened (NameMoved).
	path     string
	dev, ino uint64
}

// Event is what Poll hands out: a message, or a run of positions Tail did
// not show.
type Event struct {
	Gap bool // a run of Count positions from Pos, not shown (Why says why)
	// Pos is the message's position, or the gap's first; on a record ring
	// (whose positions count bytes) the message's sequence number.
	Pos uint64
	// Data is the message's bytes, a copy valid until Poll returns.
	Data  []byte
	Count uint64
	// Why a gap: "overwritten" (the producer reused the slots first),
	// "consumed" (consumers took the messages before they could be copied
	// whole), "no message" (MPMC positions a dead or aborting producer
	// left without one; on a record ring, sequence numbers a producer that
	// took over from a dead one skipped).
	Why string
}

// pollBudget bounds the positions one Poll looks at, so that a Poll always
// returns (the next one goes on), whatever the words it reads say.
const pollBudget = 1 << 16

// ErrEnded: the producer closed the stream and Tail has shown everything
// published before it.
var ErrEnded = errors.New("ringstat: end of stream")

// errCorruptTail is a slot or word no correct peer writes.
var errCorruptTail = errors.New("ringstat: corrupt")

// newTail starts a Tail over mem, the whole ring file whose validated
// header is h, back messages before the newest. It reports false when mem
// faulted (the file was shrunk).
func newTail(mem []byte, h layout.Header, back uint64) (*Tail, bool) {
	t := &Tail{mem: mem, w: mappedWords(mem), h: h, mask: h.SlotCount - 1}
	start := t.startMPMC
	switch {
	case h.Records:
		start = t.startRecords
	case h.Kind == layout.KindSPSC:
		start = t.startSPSC
	case h.Kind == layout.KindBroadcast:
		start = t.startBroadcast
	}
	return t, !guarded(mem, func() { start(back) })
}

// Pos is the next position Tail looks at; on a record ring, the sequence
// number it expects next (after a start at the cursor, the first message
// may carry a smaller one: startRecords says why).
func (t *Tail) Pos() uint64 {
	if t.h.Records {
		return t.rec.seq
	}
	return t.q
}

// Poll hands to emit every message published since the last call (and the
// gaps between them), in position order, and returns when it has caught
// up: nil, ErrEnded once the stream has ended, emit's error, or an error
// for a corrupt or truncated ring. It never blocks; callers poll. A ring
// shrunk while nothing is published is found too: each call that finds
// nothing new, or the stream ended, looks at the end mark.
func (t *Tail) Poll(emit func(Event) error) (err error) {
	t.emit = emit
	if guarded(t.mem, func() {
		// The end mark is looked at on an ended stream too: a producer
		// that found its file cut may still close it, in the header's
		// page, which a cut leaves.
		if err = t.poll(); (err == nil || errors.Is(err, ErrEnded)) && t.w.u64(t.h.EndOffset) != layout.EndMark {
			err = fmt.Errorf("%w: the end mark is gone; the file was shrunk", errTruncatedTail)
		}
	}) {
		return fmt.Errorf("%w: the file was shrunk under the tail", errTruncatedTail)
	}
	if err == nil || errors.Is(err, ErrEnded) {
		if ferr := t.flush(); ferr != nil {
			return ferr
		}
	}
	return err
}

var errTruncatedTail = errors.New("ringstat: truncated")

func (t *Tail) poll() error {
	if t.h.Records {
		return t.pollRecords()
	}
	switch t.h.Kind {
	case layout.KindSPSC:
		return t.pollSPSC()
	case layout.KindBroadcast:
		return t.pollBroadcast()
	}
	return t.pollMPMC()
}

// message hands out one message, after the gap before it.
func (t *Tail) message(pos uint64, data []byte) error {
	if t.w.u64(t.h.EndOffset) != layout.EndMark {
		return fmt.Errorf("%w: the end mark is gone; the file was shrunk", errTruncatedTail)
	}
	if err := t.flush(); err != nil {
		return err
	}
	return t.emit(Event{Pos: pos, Data: data})
}

// skip records count positions from pos as not shown, joining the run
// before it when it continues it.
func (t *Tail) skip(pos, count uint64, why string) {
	if count == 0 {
		return
	}
	if t.gap.Count > 0 && (t.gap.Why != why || t.gap.Pos+t.gap.Count != pos) {
		_ = t.flush() // emit's error comes back with the next message
	}
	if t.gap.Count == 0 {
		t.gap = Event{Gap: true, Pos: pos, Why: why}
	}
	t.gap.Count += count
}

func (t *Tail) flush() error {
	if t.gap.Count == 0 {
		return nil
	}
	g := t.gap
	t.gap = Event{}
	return t.emit(g)
}

// copyOut copies n payload bytes at file offset off into the tail's buffer.
func (t *Tail) copyOut(off uint64, n uint32) []byte {
	t.buf = append(t.buf[:0], t.mem[off:off+uint64(n)]...)
	return t.buf
}

func (t *Tail) corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errCorruptTail, fmt.Sprintf(format, args...))
}

// IsCorrupt and IsTruncated classify Poll's errors.
func IsCorrupt(err error) bool   { return errors.Is(err, errCorruptTail) }
func IsTruncated(err error) bool { return errors.Is(err, errTruncatedTail) }
