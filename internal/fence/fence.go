package fence

import (
	"sync"
	"sync/atomic"
)

var (
	registerOnce sync.Once
	registered   bool
)

// Register makes this process a target of Barrier and reports whether the
// release-store fast path may be used. Call it before the first StoreRelease
// whose ordering a sleeper relies on.
func Register() bool {
	registerOnce.Do(func() { registered = haveReleaseStore && registerBarrier() == nil })
	return registered
}

// ReleaseStores reports whether Register succeeded.
func ReleaseStores() bool { return Register() }

// Store64 stores v at p: a plain release store when release is true
// (only valid after Register returned true), else a sequentially
// consistent one.
func Store64(p *atomic.Uint64, v uint64, release bool) {
	if release {
		storeRelease64(p, v)
		return
	}
	p.Store(v)
}

// Store32 is Store64 for a 32-bit word.
func Store32(p *atomic.Uint32, v uint32, release bool) {
	if release {
		storeRelease32(p, v)
		return
	}
	p.Store(v)
}
