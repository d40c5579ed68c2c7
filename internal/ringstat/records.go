package ringstat

import (
	"fmt"

	"github.com/shmring/shmring/layout"
)

// interpretRecords checks what a record ring adds to its kind's words
// (LAYOUT.md 17.3) and reads the producer's sequence word: every cursor is
// a record boundary, and a broadcast ring's RecTail is one at or below the
// producer's cursor. Cursors, lags and the backlog are bytes; the
// producer's RecSeq says how many messages it numbered. Nothing in the
// data area is read here.
func interpretRecords(s *Snapshot, h *layout.Header, w words) string {
	problem := ""
	for i := range s.Roles {
		r := &s.Roles[i]
		if r.Cursor != nil && *r.Cursor%layout.RecordAlign != 0 {
			r.Problem = or(r.Problem, fmt.Sprintf("%s cursor=%d is not a multiple of %d (a record boundary)", describe(*r, h.Kind), *r.Cursor, layout.RecordAlign))
			problem = or(problem, r.Problem)
		}
	}
	if h.Kind == layout.KindBroadcast {
		// RecTail is loaded before the cursor it never passes: the cursor
		// only grows, so a correct producer's pair read in this order
		// keeps tail <= cursor.
		t := w.u64(layout.RecTailOffset)
		c := w.u64(layout.BcastCursorOffset)
		if t%layout.RecordAlign != 0 || t > c || c-t > h.SlotCount {
			problem = or(problem, fmt.Sprintf("record tail=%d, cursor=%d: want a record boundary at most %d bytes below the cursor", t, c, h.SlotCount))
		}
	}
	s.Sequence = w.u64(layout.RecSeqOffset)
	return problem
}
