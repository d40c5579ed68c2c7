// Package fence gives the ring its two orderings cheaper than Go's
// sequentially consistent atomics: a release store, and a process-wide
// full barrier that a sleeper can force on a publisher; and one that
// sync/atomic does not promise: a seqlock's mark kept ahead of the
// non-temporal stores of a large copy (StoreBeforeCopy64).
//
// On amd64 sync/atomic's Store is an XCHG, a full fence that costs tens of
// cycles on every publish (on the reference machine it held a Go ring below
// a Go channel; ringbench limits measures the plain-store ceiling). A plain
// MOV is already a release store under x86-TSO. It lacks only StoreLoad
// ordering, which the futex handshake needs ("publish,
// then look for sleepers" against "announce, then re-check"). The sleeper
// restores it: after announcing itself it calls Barrier, which runs
// membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) and so forces a full barrier
// on every running thread of every process that called Register — the
// asymmetric Dekker pattern (see membarrier(2),
// https://man7.org/linux/man-pages/man2/membarrier.2.html).
//
// Where membarrier is unavailable, under the race detector (which would
// take the plain store for a data race), and on architectures whose Go
// atomics are already release/acquire (arm64's STLR/LDAR), ReleaseStores
// reports false and the caller keeps sync/atomic.
//
// # When not to use this
//
// Anywhere the sleeper cannot be trusted to call Barrier: the release store
// alone does not order a later load.
package fence
