//go:build amd64 && !race

package fence

import (
	"sync/atomic"
	"unsafe"
)

const haveReleaseStore = true

// storeRelease64 is a plain MOVQ: a release store under x86-TSO, where a
// store is never reordered with earlier loads or stores. The Go compiler
// keeps stores in program order (every store is threaded through the same
// memory state) and orders a later load after it, so the slot writes stay
// before the cursor store and the sleeper check after it; it cannot be
// elided, since the next operation on the same word is an atomic load.
// Inlined, it costs what the MOV costs.
func storeRelease64(p *atomic.Uint64, v uint64) {
	*(*uint64)(unsafe.Pointer(p)) = v
}

func storeRelease32(p *atomic.Uint32, v uint32) {
	*(*uint32)(unsafe.Pointer(p)) = v
}
