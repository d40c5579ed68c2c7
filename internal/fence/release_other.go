//go:build !amd64 || race

package fence

import "sync/atomic"

// Elsewhere sync/atomic is already as cheap as it gets (arm64: STLR), or the
// race detector must see the store.
const haveReleaseStore = false

func storeRelease64(p *atomic.Uint64, v uint64) { p.Store(v) }

func storeRelease32(p *atomic.Uint32, v uint32) { p.Store(v) }
