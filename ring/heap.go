package ring

import (
	"encoding/binary"
	"unsafe"

	"github.com/shmring/shmring/layout"
)

// newHeapRing builds a ring over ordinary Go memory, with roles kept in the
// process. The engine code is the same; the race detector, which cannot see
// accesses through an mmap'd region, can see these.
func newHeapRing(name string, o Options) (*Ring, error) {
	hdr, err := o.header()
	if err != nil {
		return nil, err
	}
	words := make([]uint64, (hdr.FileSize+7)/8) // 8-byte aligned for the 64-bit cursors
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), hdr.FileSize)
	hdr.Encode(mem)
	initSlots(&hdr, mem)
	binary.LittleEndian.PutUint64(mem[hdr.EndOffset:], layout.EndMark)
	r := &Ring{name: name, hdr: hdr, fullFence: o.FullFence, unguarded: o.Unguarded}
	r.setMapping(mem)
	return r, nil
}
