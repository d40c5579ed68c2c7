package natsbridge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// The bridge's fault guard.
//
// A peer may shrink the ring file while the bridge reads it (by bug or on
// purpose). A load from a page past the new end raises SIGBUS, which kills
// the process unless the goroutine runs under debug.SetPanicOnFault. The
// ring's own calls do (ring/guard.go); the bytes of a batch leased in place
// are the caller's to guard. nats.go runs no such guard, and a fault caught
// inside its Publish would leave its connection lock held, so the bridge
// never hands it the ring's memory: it copies each leased batch into an
// arena of its own (copyLeased, under the guard), and publishes the copies.
//
// A truncation that cuts inside a page leaves that page mapped with its
// tail zeroed, so a copy can be damaged without any fault. The file's end
// mark (layout.EndMark, on a page of its own) tells, as it tells the ring's
// readers: checkEnd reads it after the copies, before any is published.

// copyLeased copies the messages of a leased batch into a, under the fault
// guard: a fault while copying one is an error wrapping ring.ErrTruncated.
// a must have room for the batch.
func copyLeased[B leasedBatch](a *arena, b B, ringName string) (err error) {
	var cur []byte // the leased message being copied
	defer endGuard(&err, &cur, ringName, debug.SetPanicOnFault(true))
	for i := range b.Len() {
		if cur, err = b.At(i); err != nil {
			return err
		}
		copy(a.free(), cur)
		a.keep(len(cur))
	}
	return nil
}

// endGuard puts the goroutine's fault setting back and turns a fault inside
// *cur into ErrTruncated. A panic for any other reason, or a fault at any
// other address, goes on as it would have.
func endGuard(err *error, cur *[]byte, ringName string, old bool) {
	debug.SetPanicOnFault(old)
	v := recover()
	if v == nil {
		return
	}
	f, ok := v.(interface {
		runtime.Error
		Addr() uintptr
	})
	m := *cur
	if !ok || len(m) == 0 || f.Addr()-uintptr(unsafe.Pointer(unsafe.SliceData(m))) >= uintptr(len(m)) {
		panic(v)
	}
	// A Ring closed under a running bridge faults the same way: the
	// bridge's caller did that, and hears of it as a truncation.
	*err = fmt.Errorf("%w: ring=%s: fault copying a message out of the ring: the file was shrunk under the bridge",
		ring.ErrTruncated, ringName)
}

// endMark reads a ring file's end mark through the ring's own descriptor
// with pread, beside the mapping: a file shrunk under it has no end mark,
// and one shrunk and grown again has a zero there.
type endMark struct {
	f   *os.File // nil: the ring cannot be shrunk (a sealed memfd, or no file)
	off int64
	buf [8]byte
}

func newEndMark(r *ring.Ring) *endMark {
	if r.Path() == "" {
		return &endMark{}
	}
	return &endMark{f: r.File(), off: int64(r.Header().EndOffset)}
}

// check says whether the file still has its end mark: one system call,
// made once per batch.
func (e *endMark) check(ringName string) error {
	if e.f == nil {
		return nil
	}
	_, err := e.f.ReadAt(e.buf[:], e.off)
	if err == nil && binary.LittleEndian.Uint64(e.buf[:]) == layout.EndMark {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: ring=%s: the end mark at file offset=%d is gone: the file was shrunk under the bridge",
			ring.ErrTruncated, ringName, e.off)
	}
	return fmt.Errorf("ring=%s: read the end mark: %w", ringName, err)
}
