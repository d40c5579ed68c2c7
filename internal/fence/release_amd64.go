//go:build amd64 && !race

package fence

import "sync/atomic"

const haveReleaseStore = true

// storeRelease64 is a plain MOVQ: a release store under x86-TSO. It is an
// assembly function so that the compiler can neither reorder the payload
// stores before it past it nor elide it.
//
//go:noescape
func storeRelease64(p *atomic.Uint64, v uint64)
