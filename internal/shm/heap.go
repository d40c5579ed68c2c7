package shm

import (
	"sync"
	"unsafe"
)

// Heap is a Segment in ordinary Go memory, with its locks kept in the
// process. The engine code over it is the same as over a File; the race
// detector, which cannot see accesses through a mapping, sees these.
type Heap struct {
	mem  []byte
	mu   sync.Mutex
	held map[int64]bool // the lock bytes held
}

// NewHeap makes a zeroed Heap of size bytes, 8-byte aligned for 64-bit
// atomics. The caller has checked that size is Mappable and not zero.
func NewHeap(size uint64) *Heap {
	words := make([]uint64, (size+7)/8)
	return &Heap{mem: unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), size), held: make(map[int64]bool)}
}

// Mem is the heap buffer standing in for the mapping.
func (h *Heap) Mem() []byte { return h.mem }

// Path is empty: a heap segment has no file.
func (h *Heap) Path() string { return "" }

// Close does nothing: the garbage collector frees the buffer.
func (h *Heap) Close(bool) error { return nil }

// Lock takes byte at's lock within this process (ErrHeld if taken).
func (h *Heap) Lock(at int64) (Lock, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held[at] {
		return Lock{}, ErrHeld
	}
	h.held[at] = true
	return Lock{}, nil
}

// Unlock lets go of byte at's lock.
func (h *Heap) Unlock(at int64, _ Lock) error {
	h.mu.Lock()
	delete(h.held, at)
	h.mu.Unlock()
	return nil
}

// Held reports whether byte at's lock is taken in this process.
func (h *Heap) Held(at int64) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held[at], nil
}
