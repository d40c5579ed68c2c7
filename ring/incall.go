package ring

import (
	"time"

	"github.com/shmring/shmring/internal/fence"
)

// The publishing calls and the Ring's Close.
//
// Ring.Close closes each producer from its own goroutine, and a producer's
// Close marks the end of the stream in the file. A Send running meanwhile
// on another goroutine, inside its cached room, would go on publishing
// after that mark: its consumer stops at the mark, so the message is lost
// while Send says nil. So every publishing call (Send, TrySend, Commit,
// SendBatch, CommitBatch) marks itself in (entered) and out (leave), and
// Ring.Close, once closing is set, waits for the producers' calls to leave
// before it closes them (awaitPublishers). A call that enters after
// closing is set sees it and publishes nothing.
//
// SYNC POINT: closing against inCall. The call stores inCall, then loads
// closing; Close stores closing, then loads inCall. That is the store-load
// pattern that needs a full fence on both sides, and on the publishing
// path a fence is what a stream avoids: where this process publishes with
// plain release stores (membarrier registered), the call's store is plain
// too, and Close issues the barrier for it (fence.Barrier makes every
// thread of the process execute one) between its store and its loads.
// Either the call's load sees closing, or Close's load sees inCall.

// entered marks a publishing call in and reports whether it may go on:
// the call's half of SYNC POINT: closing against inCall (above).
// false once the Ring's Close has begun, when the call returns
// closedAtEntry's ErrClosed, having published nothing. Small enough to
// inline: it is on every message's path.
func (p *Producer) entered() bool {
	if p.plainMarks {
		fence.Store32(&p.inCall, 1, true)
	} else {
		p.inCall.Swap(1) // a full fence, also under the race detector
	}
	return !p.r.closing.Load()
}

// closedAtEntry: the call leaves at once, having published nothing.
func (p *Producer) closedAtEntry() error {
	p.leave()
	return p.r.errClosedDuringCall()
}

// leave marks the call out with a release store, after all it published
// (Close needs no fence to see it: it polls). The guarded calls leave in
// endGuardSent, the unguarded in a defer of their own; a call that ends
// before it entered stores the 0 that is already there.
func (p *Producer) leave() { fence.Store32(&p.inCall, 0, true) }

// awaitPublishers waits, once closing is set, until no producer among hs is
// inside a publishing call, or until deadline (closeLimit): Close's half of
// SYNC POINT: closing against inCall (above).
func (r *Ring) awaitPublishers(hs []handle, deadline time.Time) {
	var ps []*Producer
	for _, h := range hs {
		if p, ok := h.(*Producer); ok {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return
	}
	if fence.Registered() {
		_ = fence.Barrier() // registered: it cannot fail
	}
	for _, p := range ps {
		for p.inCall.Load() != 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Microsecond)
		}
	}
}
