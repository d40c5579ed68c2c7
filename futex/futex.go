package futex

import (
	"math"
	"time"
)

// Wait sleeps while *addr == val, until a Wake on the same word, a
// spurious wake-up, or timeout. A timeout <= 0 means no timeout: a caller
// that converts a deadline must check for an expired deadline itself
// rather than pass a zero or negative remainder. See the package
// documentation for the results and for the protocol around it.
//
// addr must be 4-byte aligned (every *uint32 from Go is; one made from a
// mapping offset must be checked).
func Wait(addr *uint32, val uint32, timeout time.Duration) error {
	return waitFlags(addr, val, timeout, false)
}

// Wake wakes up to n sleepers on addr, in any process that maps the same
// memory, and returns how many it woke. n <= 0 wakes nobody (and makes no
// system call); math.MaxInt32 or more wakes all.
func Wake(addr *uint32, n int) (int, error) {
	return wakeFlags(addr, n, false)
}

// clampWake returns n as the kernel's int count, or false for n <= 0 (the
// kernel would wake one for a count of zero).
func clampWake(n int) (uint32, bool) {
	if n <= 0 {
		return 0, false
	}
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	return uint32(n), true
}
