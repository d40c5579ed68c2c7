package ring

// Waiting on an SPSC ring (the loop is waitloop.go's): a producer for the
// consumer's cursor to free a slot, a consumer for the producer's cursor.

import (
	"context"

	"github.com/shmring/shmring/layout"
)

// await blocks until the other side's cursor reaches need and returns it
// (unvalidated: the caller bounds-checks it), waiting as e.wait says. A
// consumer gets ErrClosed when the producer closed the stream short of
// need; either side gets ErrPeerDead when the other's holder died. A side
// sleeps on the other side's wake word, announced in its own sleepers flag;
// a peer that publishes with release stores (FlagReleaseStores) needs the
// barrier.
func (e *endpoint) await(ctx context.Context, need uint64) (uint64, error) {
	at := stepSleepingEmpty
	if e.role == producerRole {
		at = stepSleepingFull
	}
	e.waiting.need = need
	l := waitLoop{
		r:       e.r,
		how:     &e.wait,
		est:     &e.waiting.est,
		stats:   &e.stats,
		sleep:   sleepers{word: e.own.sleepers, wake: e.peer.wake, mode: sleepFlag},
		barrier: barrierIfFlagged,
		flags:   e.peer.flags,
		at:      at,
	}
	if err := l.run(ctx, spscWait{e}); err != nil {
		return 0, err
	}
	return e.waiting.pos, nil
}

// spscWait is an SPSC side's waiter.
type spscWait struct{ e *endpoint }

func (w spscWait) ready() bool {
	v := w.e.peer.cursor.Load()
	w.e.waiting.pos = v
	return v >= w.e.waiting.need
}

func (w spscWait) stopped() error { return w.e.closedShort(w.e.waiting.need) }
func (w spscWait) probe() error   { return w.e.peerDead() }

// closedShort: for a consumer, the producer closed the stream and its
// cursor stays short of need. State is loaded before the cursor: the
// producer stores its last cursor before its closed state.
func (e *endpoint) closedShort(need uint64) error {
	if e.role != consumerRole {
		return nil
	}
	st := e.peer.state.Load()
	if st&^layout.StateMask != 0 {
		return e.r.corrupt("producer state=%#x", st)
	}
	if st&layout.StateClosed == 0 {
		return nil
	}
	if e.peer.cursor.Load() >= need {
		return nil
	}
	return ErrClosed
}
