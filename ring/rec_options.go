package ring

import (
	"fmt"

	"github.com/shmring/shmring/layout"
)

// checkRecords refuses record options on a slot ring, slot options on a
// record ring, and record rings of the kinds that carry none.
//
// MPMC and MPSC carry no records: their producers claim slots with a CAS
// on a shared counter and their consumers take slots one by one, each slot
// with its own control word; a ring of bytes would need producers to
// reserve byte ranges of unknown length with that CAS and consumers to
// skip, and repair, the half-written records of producers that died
// mid-claim without a per-record control word to do it on. Use an MPSC
// slot ring sized for the largest message, or one SPSC record ring per
// producer.
func (o Options) checkRecords() error {
	if !o.Records {
		if o.Capacity != 0 || o.MaxMessage != 0 {
			return fmt.Errorf("%w: Capacity and MaxMessage are for record rings (Options.Records)", ErrInvalid)
		}
		return nil
	}
	switch o.Kind {
	case SPSC, Broadcast:
	case MPMC, MPSC:
		return fmt.Errorf("%w: kind=%v carries no records: its producers claim slots by a CAS and its consumers repair slots one by one, which a ring of bytes cannot offer; use SPSC or Broadcast records, or an MPSC slot ring", ErrInvalid, o.Kind)
	default:
		return fmt.Errorf("%w: kind=%v not supported", ErrInvalid, o.Kind)
	}
	if o.SlotSize != 0 || o.Slots != 0 {
		return fmt.Errorf("%w: a record ring takes Capacity and MaxMessage, not SlotSize and Slots", ErrInvalid)
	}
	c := uint64(o.Capacity)
	if o.Capacity < layout.MinRecordCapacity || c > layout.MaxRecordCapacity || c&(c-1) != 0 {
		return fmt.Errorf("%w: capacity=%d, want a power of two in %d..%d", ErrInvalid, o.Capacity, layout.MinRecordCapacity, uint64(layout.MaxRecordCapacity))
	}
	if bound := layout.MaxRecordMessage(c); o.MaxMessage < 0 || uint64(o.MaxMessage) > uint64(bound) {
		return fmt.Errorf("%w: max message=%d, a %d-byte record ring carries at most %d (Capacity/2, and at most 1 GiB)", ErrInvalid, o.MaxMessage, o.Capacity, bound)
	}
	return nil
}

// recordGeometry is a checked record ring's slot size and count as the
// header stores them: MaxMessage (its default filled in) and Capacity.
func (o Options) recordGeometry() (size, count int) {
	size = o.MaxMessage
	if size == 0 {
		size = int(layout.MaxRecordMessage(uint64(o.Capacity)))
	}
	return size, o.Capacity
}

// Records reports whether the ring carries variable-length records
// (Options.Records).
func (r *Ring) Records() bool {
	if r.missing() {
		return false
	}
	return r.hdr.Records
}

// MaxMessage is the longest message the ring carries: a record ring's
// MaxMessage, a slot ring's SlotSize. A longer one is ErrTooLarge.
func (r *Ring) MaxMessage() int {
	if r.missing() {
		return 0
	}
	return int(r.hdr.SlotSize)
}

// Capacity is the message bytes the ring holds at most: a record ring's
// data area (Options.Capacity; each message also takes its 16-byte header
// and alignment there), a slot ring's Slots × SlotSize.
func (r *Ring) Capacity() int {
	if r.missing() {
		return 0
	}
	if r.hdr.Records {
		return int(r.hdr.SlotCount)
	}
	return int(r.hdr.SlotCount) * int(r.hdr.SlotSize)
}
