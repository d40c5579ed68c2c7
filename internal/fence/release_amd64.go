//go:build amd64 && !race

package fence

import (
	"sync/atomic"
	"unsafe"
)

const haveReleaseStore = true

// storeRelease64 is a plain MOVQ: a release store under x86-TSO, where a
// write is not reordered with earlier reads or writes (Intel SDM vol. 3A
// §8.2.2, "Memory Ordering in P6 and More Recent Processor Families").
//
// The compiler keeps it there too. Every memory operation in Go's SSA
// takes the memory state the one before it produced, "this ensures that
// memory operations are kept in the right order ... the two stores cannot
// be reordered" (cmd/compile/internal/ssa/README.md, "Memory types"), so
// the payload stores stay before this one and the sleepers load after it.
// That is how the compiler works, not what the language promises, so
// TestPublishOrder checks it in the generated code on every go test.
//
// Inlined, it costs what the MOV costs. An assembly store, which no
// compiler may move since it cannot see into it, is the way out should
// TestPublishOrder ever fail; it measured 1.4 ns more per store
// (BenchmarkStore64/release: 2.7 against 1.3 ns), and the best run of
// BenchmarkThroughputCrossProcess/size=8/batch=1 was slower with it in 7
// of 8 rounds of alternating runs (medians were too noisy on a shared
// 2-vCPU VM to tell), where the C ring's budget is about 7 ns a message.
func storeRelease64(p *atomic.Uint64, v uint64) {
	*(*uint64)(unsafe.Pointer(p)) = v
}

func storeRelease32(p *atomic.Uint32, v uint32) {
	*(*uint32)(unsafe.Pointer(p)) = v
}
