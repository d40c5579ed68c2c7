package natsbridge

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
	"golang.org/x/sys/unix"
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
// readers: copyLeased reads it after the copies, before any is published.

// copyLeased copies the messages of a leased batch into a and then checks
// the end mark, under the fault guard: a fault in either is an error
// wrapping ring.ErrTruncated. a must have room for the batch.
func copyLeased[B leasedBatch](a *arena, b B, end *endMark, ringName string) (err error) {
	var cur []byte // the shared memory being read: a leased message, then the end mark's page
	defer endGuard(&err, &cur, ringName, debug.SetPanicOnFault(true))
	for i := range b.Len() {
		if cur, err = b.At(i); err != nil {
			return err
		}
		copy(a.free(), cur)
		a.keep(len(cur))
	}
	cur = end.page
	return end.check(ringName)
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
	*err = fmt.Errorf("%w: ring=%s: fault reading the ring file while copying a batch: the file was shrunk under the bridge",
		ring.ErrTruncated, ringName)
}

// endMark is a read-only mapping of the page of the ring file that holds
// its end mark: checking it is one load (under copyLeased's guard, as a
// file shrunk below it faults there), and a file shrunk and grown again
// reads zero.
type endMark struct {
	page []byte // nil: the ring cannot be shrunk (a sealed memfd, or no file)
	mark *atomic.Uint64
}

// mapEndMark maps the end mark's page of r's file, through the Ring's own
// descriptor. The page is a huge page on hugetlbfs, whose block size says
// so.
func mapEndMark(r *ring.Ring) (*endMark, error) {
	f := r.File()
	if r.Path() == "" || f == nil {
		return &endMark{}, nil
	}
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var page []byte
	var at int64 // the mark's offset in page
	off := int64(r.Header().EndOffset)
	cerr := sc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if err = unix.Fstat(int(fd), &st); err != nil {
			return
		}
		size := max(int64(os.Getpagesize()), int64(st.Blksize)) // int32 on some systems
		at = off & (size - 1)
		page, err = unix.Mmap(int(fd), off-at, int(at)+8, unix.PROT_READ, unix.MAP_SHARED)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("map the end mark of %s: %w", r.Path(), err)
	}
	return &endMark{page: page, mark: (*atomic.Uint64)(unsafe.Pointer(&page[at]))}, nil
}

// check says whether the file still has its end mark.
func (e *endMark) check(ringName string) error {
	if e.page == nil || e.mark.Load() == layout.EndMark {
		return nil
	}
	return fmt.Errorf("%w: ring=%s: the end mark is gone: the file was shrunk under the bridge", ring.ErrTruncated, ringName)
}

func (e *endMark) close() error {
	if e.page == nil {
		return nil
	}
	page := e.page
	e.page, e.mark = nil, nil
	return unix.Munmap(page)
}
