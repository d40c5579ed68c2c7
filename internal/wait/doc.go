// Package wait is how a ring's blocking calls wait: one loop (spin, then
// an adaptive spin, then yield, then a futex sleep or a poll), the
// sleepers words that tell a waker whom to wake, the adaptive spin's
// estimate and the one choice of how to yield. Every kind and direction of
// package ring waits through it; ring says what is waited for (a Waiter),
// on which words (Sleepers) and with which strategy (Config, the form of
// ring.WaitStrategy), and stays the Host that counts the sleepers Close
// must wait for.
//
// The package knows nothing of rings beyond the layout's sleepers word
// and FlagReleaseStores: not the roles, not the slots, not what a closed
// or dead peer is.
//
// Invariants:
//
//   - No lost wake-up: a sleeper reads the wake word, announces itself
//     with a full fence, re-checks, then sleeps on the value it read; a
//     waker publishes with a full fence (or the sleeper forces one, per
//     Barrier), clears the sleepers word, then bumps the wake word and
//     wakes (loop.go, sleepers.go). One of the two sees the other's store.
//   - No system call before the sleep phase: the spin and yield phases
//     look only at the context and Waiter.Stopped; Host.Enter, the peers'
//     Probe and the futex come after. A sleep lasts at most a tick, so a
//     dead peer or a missed wake costs at most one.
//   - Nothing allocates: a Loop lives on the caller's stack and its
//     Waiter and Host are pointer-shaped; the spin phase makes no indirect
//     call but Ready (a Spinner's Spun) and, every 256 polls, Stopped.
//   - A sleepers word is untrusted: a count at its maximum stays there, a
//     withdrawal never leaves its epoch, and any value costs at most a
//     spurious wake.
//
// When not to use this: for waiting inside one process, use a channel or
// sync.Cond; the loop is worth its spin and its futex words only where the
// peer is another process on a shared mapping. Nor for a wait whose peer
// publishes without a full fence and never sets FlagReleaseStores: the
// barrier rule would not know to force one.
package wait
