package ringstat

import (
	"runtime/debug"
	"unsafe"
)

// guarded runs f, and reports whether it faulted inside mem: a peer that
// shrinks a mapped file makes the pages past its new end raise SIGBUS,
// which SetPanicOnFault turns into a panic this recovers. A panic of any
// other kind, or a fault anywhere else, goes on.
func guarded(mem []byte, f func()) (faulted bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		v := recover()
		if v == nil {
			return
		}
		if a, ok := v.(interface{ Addr() uintptr }); ok && inside(mem, a.Addr()) {
			faulted = true
			return
		}
		panic(v)
	}()
	f()
	return false
}

func inside(mem []byte, addr uintptr) bool {
	if len(mem) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	return addr-base < uintptr(len(mem))
}
