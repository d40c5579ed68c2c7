package ring

import "github.com/shmring/shmring/internal/shm"

// newHeapRing builds a ring over ordinary Go memory, with roles kept in the
// process (shm.Heap). The engine code is the same; the race detector, which
// cannot see accesses through an mmap'd region, can see these.
func newHeapRing(name string, o Options) (*Ring, error) {
	hdr, err := o.header()
	if err != nil {
		return nil, err
	}
	seg := shm.NewHeap(hdr.FileSize)
	initialize(&hdr, seg.Mem())
	return newRing(name, hdr, seg, o.FullFence, o.Unguarded), nil
}
