package ringstat

import "github.com/shmring/shmring/layout"

// Liveness across looks: a role is dead (attached, and no live lock) only
// if it was seen attached in the same incarnation on both sides of a lock
// probe that found no lock. A holder takes a role by its lock, then a new
// incarnation, then its state; it leaves by its state, then its lock; so
// a role seen so around an unheld probe cannot have a live holder. The
// looks themselves are interpret's.

// sameRole is the index in roles of r's role as the first look found it
// (same role, entry and incarnation), or -1.
func sameRole(roles []Role, r *Role) int {
	for j := range roles {
		if roles[j].Role == r.Role && roles[j].Entry == r.Entry && roles[j].Incarnation == r.Incarnation {
			return j
		}
	}
	return -1
}

// sameEntry is the index in roles of r's role and entry, whatever its
// incarnation, or -1.
func sameEntry(roles []Role, r *Role) int {
	for j := range roles {
		if roles[j].Role == r.Role && roles[j].Entry == r.Entry {
			return j
		}
	}
	return -1
}

// probeAgain probes the locks of the roles at idx (seen attached only in
// the second look) and, for those found unheld, looks a third time: such a
// role is dead only if it is still attached in the same incarnation. One
// taken between the looks may have left again before its second probe
// (state, then lock: unheld, attached in the second look), which is no
// death either (a reader joining and leaving in a loop was "dead" in 1 to
// 2.5 % of looks).
func probeAgain(s *Snapshot, h *layout.Header, w words, held probe, idx []int) {
	if len(idx) == 0 {
		return
	}
	defer func() { // what a role found live, or gone, changes
		for _, r := range s.Roles {
			s.Held = s.Held || r.Live
		}
		if h.Kind == layout.KindBroadcast {
			s.Consumed = readersFloor(s.Published, h.SlotCount, s.Roles)
			s.Backlog = s.Published - s.Consumed
		}
	}()
	unheld := idx[:0:0]
	for _, i := range idx {
		if s.Roles[i].Live = held(s.Roles[i].lock); !s.Roles[i].Live {
			unheld = append(unheld, i)
		}
	}
	if len(unheld) == 0 {
		return
	}
	var third Snapshot
	interpretControl(&third, h, w, func(int64) bool { return false })
	for _, i := range unheld {
		r := &s.Roles[i]
		j := sameEntry(third.Roles, r)
		switch {
		case j < 0: // it left, an entry listed only while taken
			r.Attached, r.Lag = false, nil
		case !third.Roles[j].Attached || third.Roles[j].Incarnation != r.Incarnation:
			// It left (the entry free, or Left), or left and a holder came
			// back: the third look's role, whole, and live if taken.
			took := third.Roles[j]
			took.Live = took.Attached
			readRoleCounters(h, w, &took)
			*r = took
		}
		// Still attached in the same incarnation, around a probe that
		// found no lock: its holder died.
	}
}
