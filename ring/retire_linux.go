package ring

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/edsrzf/mmap-go"
	"golang.org/x/sys/unix"
)

// region is an address range this package reserved.
type region struct {
	addr unsafe.Pointer
	len  uintptr
}

// retire takes the ring's file out of r's address space without giving the
// address range back: one mmap(MAP_FIXED) swaps the file's pages for an
// inaccessible anonymous reservation (no memory, no swap), so a goroutine
// still inside a call faults (the guard reports ErrClosed) instead of
// reading or writing whatever the kernel might later map at the same
// addresses. The reservation is unmapped once r is garbage: no handle, and
// so no call, can reach it any more.
func (r *Ring) retire(m mmap.MMap) error {
	if len(m) == 0 {
		return nil
	}
	reg := region{addr: unsafe.Pointer(&m[0]), len: uintptr(len(m))}
	if _, err := unix.MmapPtr(-1, 0, reg.addr, reg.len, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE); err != nil {
		return fmt.Errorf("ring: unmap ring=%s: %w", r.name, err)
	}
	r.unmapWhenGarbage(m)
	return nil
}

// unmapWhenGarbage unmaps m once r is garbage. An unguarded ring's Close
// leaves its mapping to this: a call still inside then finds the file
// mapped rather than faulting, which nothing would catch.
func (r *Ring) unmapWhenGarbage(m mmap.MMap) {
	reg := region{addr: unsafe.Pointer(&m[0]), len: uintptr(len(m))}
	runtime.AddCleanup(r, func(reg region) { unix.MunmapPtr(reg.addr, reg.len) }, reg)
}
