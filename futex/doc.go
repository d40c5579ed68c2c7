// Package futex sleeps and wakes on a 32-bit word in shared memory: the
// one kernel call the ring makes, and only when a side has nothing to do.
//
// On Linux, Wait and Wake are FUTEX_WAIT and FUTEX_WAKE on the word's
// address, deliberately without FUTEX_PRIVATE_FLAG: the word lives in a
// MAP_SHARED mapping that several processes map, possibly at different
// addresses, and only the shared flavour keys a waiter by the underlying
// page (inode and offset) rather than by (address space, address), so a
// wake from one process finds a sleeper in another. See futex(2):
// https://man7.org/linux/man-pages/man2/futex.2.html
//
// # Contract
//
// A futex is only a sleep queue keyed by an address, with a compare before
// sleeping; it holds no state. Neither call is a condition variable on its
// own: Wait may return spuriously, and Wake wakes only those already asleep.
// The state lives in the word and in a waiter count beside it, and the two
// sides follow this protocol (compare runtime/lock_futex.go), which the
// tests of this package run across two processes:
//
//	sleeper (wants word != old):            waker (changes the state):
//	  for {                                   atomic store word = new    // publish first
//	    if atomic load word != old: done      if atomic load waiters != 0:
//	    atomic add waiters, +1   // announce    Wake(&word, n)           // only if someone sleeps
//	    if atomic load word == old:          // re-check
//	      Wait(&word, old, timeout)          // sleeps only if still old
//	    atomic add waiters, -1
//	  }
//
// The sleeper's "announce, then re-check" and the waker's "publish, then
// look for sleepers" form a Dekker pair: because Go's sync/atomic operations
// are sequentially consistent, either the sleeper's re-check sees the new
// value, or the waker sees the announced waiter and wakes it. If the waker's
// store lands between the re-check and the kernel's own compare, Wait
// returns ErrValueChanged at once instead of sleeping. No wake-up is lost,
// and when nobody sleeps the waker makes no system call at all.
//
// Results of Wait: nil means woken (or woken spuriously — re-check the
// word); ErrValueChanged means *addr != val when the kernel looked;
// ErrTimeout means the timeout passed. Signals (EINTR) are absorbed: the
// wait resumes for what is left of the timeout.
//
// # Other operating systems
//
// Elsewhere Wait polls the word with atomic loads, sleeping about 100µs
// between looks, and Wake does nothing and reports 0 woken. The protocol
// above stays correct (the poller sees the store), only slower and never
// with a meaningful woken count.
//
// # When not to use this
//
// Between goroutines of one process use channels or sync.Cond: they park
// goroutines, where a futex wait blocks a whole OS thread for its duration.
// Do not call Wait on a hot path without the spin-then-announce protocol
// above: each call is a system call of about a microsecond even when it
// returns at once. And do not rely on Wake's count for correctness, since a
// woken sleeper may return spuriously and the fallback always reports 0.
package futex
