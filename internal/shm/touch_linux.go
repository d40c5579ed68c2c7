package shm

import (
	"os"
	"sync/atomic"
	"unsafe"
)

// touch writes every page of a new file's mapping once, after populate.
//
// MADV_POPULATE_WRITE gives every page a writable entry in this process's
// page table, and on a machine whose memory is its own that is the whole
// cost of a first touch. In a virtual machine whose host backs the guest's
// memory lazily (a Firecracker microVM, this project's own machine), the
// guest can hand out pages it knows to be zero without writing them, and
// the host then backs each with memory only at the first write: an exit
// to the host for each 4 KiB page, many times the guest's own work. Then
// every message of a new ring's first lap pays it: BENCHMARKS.md 11.9
// measured it, and Create with this write against populate alone. Writing
// each page once here moves that cost into Create, where populate meant
// it to be; on a machine whose memory is its own the write costs a store
// to a page just populated.
//
// Only once every page is allocated (populate calls it after
// MADV_POPULATE_WRITE succeeded, or on older kernels after fallocate), so
// the write cannot fault where a full file system would otherwise raise
// SIGBUS. The write is an atomic add of zero to the
// page's first word: a write, so the host backs the page, that changes
// nothing, whatever is there. A fresh file is no ring yet (its header
// comes after), but no store of a value read before could be as safe
// against a peer that mapped it early.
func touch(m []byte) {
	page := os.Getpagesize() // the host backs base pages; a huge page holds many
	for i := 0; i+4 <= len(m); i += page {
		atomic.AddUint32((*uint32)(unsafe.Pointer(&m[i])), 0)
	}
}
