//go:build !linux

package futex

import (
	"sync/atomic"
	"time"
)

// pollInterval is how long the fallback Wait sleeps between looks at the
// word: short enough that a waker is noticed well within a millisecond,
// long enough that a sleeper costs next to no CPU.
const pollInterval = 100 * time.Microsecond

// waitFlags polls *addr: there is no portable way to sleep on a word shared
// between processes, so a store to it is noticed at the next look. It keeps
// Linux's results: ErrValueChanged if *addr != val at the first look, nil
// once it changes later, ErrTimeout after timeout. private is meaningless
// here.
func waitFlags(addr *uint32, val uint32, timeout time.Duration, private bool) error {
	if atomic.LoadUint32(addr) != val {
		return ErrValueChanged
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		d := pollInterval
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrTimeout
			}
			d = min(d, left)
		}
		time.Sleep(d)
		if atomic.LoadUint32(addr) != val {
			return nil
		}
	}
}

// wakeFlags has no one to wake: pollers notice the store on their own.
func wakeFlags(addr *uint32, n int, private bool) (int, error) {
	return 0, nil
}
