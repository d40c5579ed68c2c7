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

// Store32 is Store64 for a 32-bit word.
func Store32(p *atomic.Uint32, v uint32, release bool) {
	if release {
		storeRelease32(p, v)
		return
	}
	p.Store(v)
}
