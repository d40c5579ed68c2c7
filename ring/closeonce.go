package ring

import (
	"sync/atomic"
	"time"
)

// closeOnce makes one of the Closes that race on a handle (its own, and the
// Ring's from another goroutine, which Ring.Close allows) the one that
// closes it; the others wait for it to finish, then return nil. Two that
// both left an MPMC entry dropped its side's count twice, past zero, and
// every peer then found the ring corrupt.
type closeOnce struct{ state atomic.Int32 } // 0 open, 1 closing, 2 closed

// begin reports whether this call closes the handle; a call that does not
// returns once the one that does has finished (microseconds: Close waits
// for nothing but system calls).
func (o *closeOnce) begin() bool {
	if o.state.CompareAndSwap(0, 1) {
		return true
	}
	for o.state.Load() != 2 {
		time.Sleep(10 * time.Microsecond)
	}
	return false
}

// end is deferred by the call begin chose, before anything else it defers.
func (o *closeOnce) end() { o.state.Store(2) }
