package fence

import (
	"sync"
	"sync/atomic"
)

var (
	registerOnce sync.Once
	registered   atomic.Bool
)

// Register makes this process a target of Barrier and reports whether the
// release-store fast path may be used. Call it before the first StoreRelease
// whose ordering a sleeper relies on.
func Register() bool {
	registerOnce.Do(func() { registered.Store(haveReleaseStore && registerBarrier() == nil) })
	return registered.Load()
}

// Registered reports whether this process is a target of Barrier, without
// making it one.
func Registered() bool { return registered.Load() }

// ReleaseStores reports whether Register succeeded.
func ReleaseStores() bool { return Register() }

// Store64 stores v at p: a plain release store when release is true
// (only valid after Register returned true), else a full-fence exchange.
//
// Swap rather than Store: natively both are one XCHG on amd64, but under
// the race detector atomics on mmap'd memory are not sequentially
// consistent for a plain Store (a store-buffer litmus test failed a few
// times in a million there), while a read-modify-write is, and the futex
// handshake needs StoreLoad order between this store and the next load.
func Store64(p *atomic.Uint64, v uint64, release bool) {
	if release {
		storeRelease64(p, v)
		return
	}
	p.Swap(v)
}

// Store32 stores v at p: a plain release store when release is true,
// else sync/atomic's Store. Unlike Store64 it does not use a swap, so under
// the race detector it is not a StoreLoad fence: use it for words no
// wake-up handshake depends on (the SPSC slots' seq words).
func Store32(p *atomic.Uint32, v uint32, release bool) {
	if release {
		storeRelease32(p, v)
		return
	}
	p.Store(v)
}

// CopyFenceMin is the smallest copy that StoreBeforeCopy64 fences for.
// Go's memmove switches to non-temporal stores at 1 MiB
// (runtime/memmove_amd64.s, gobble_big_data_fwd); a C memcpy that a caller
// may use to fill a claimed slot picks its own threshold, typically a
// fraction of the last-level cache's share per thread, hundreds of KiB.
// The margin below those costs nothing measurable: from 64 KiB up the
// fence is lost in the copy (BenchmarkStoreBeforeCopy64), while on small
// messages it would be the full fence per message that release stores
// exist to avoid.
const CopyFenceMin = 64 << 10

// StoreBeforeCopy64 is Store64 for a word that must be visible before
// every store of a copy of up to n bytes that follows it: a seqlock's
// "being written" mark, stored before the payload is overwritten.
//
// A plain store is not enough before a large copy on amd64. Writes keep
// their order there "with the exception of ... streaming stores (writes)
// executed with the non-temporal move instructions" (Intel SDM vol. 3A
// §8.2.2, "Memory Ordering in P6 and More Recent Processor Families",
// renumbered in later editions), and memmove copies 1 MiB and more with
// VMOVNTDQ: payload bytes could become visible before the mark, and a
// reader that copied them and then still loaded the old seq would accept
// a torn message. From CopyFenceMin up the mark is therefore the
// exchange, a locked instruction, whatever release says: "reads or writes
// cannot be reordered with I/O instructions, locked instructions, or
// serializing instructions" (same section), and AMD lists locked
// instructions among the read/write barriers that complete before any
// later read or write executes (APM vol. 1 §3.9.2, "Forcing Memory
// Order"). memmove's own closing SFENCE orders the payload before the
// store that publishes it.
//
// Elsewhere no memmove streams, and release is false anyway.
func StoreBeforeCopy64(p *atomic.Uint64, v uint64, release bool, n int) {
	Store64(p, v, release && n < CopyFenceMin)
}
