package futex

import (
	"fmt"
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Operation numbers from <linux/futex.h>; x/sys/unix does not export them.
const (
	opWait        = 0   // FUTEX_WAIT
	opWake        = 1   // FUTEX_WAKE
	opCmpRequeue  = 4   // FUTEX_CMP_REQUEUE, used by the tests to count sleepers
	opPrivateFlag = 128 // FUTEX_PRIVATE_FLAG: key by (mm, address); never for shared memory
)

// waitFlags is Wait with a choice of the private flavour, which exists only
// so the tests can show that it would not work across processes.
//
// It does not allocate: the timespec lives on the stack, errors on the
// expected paths are preallocated sentinels, and addr is printed only as a
// number so that it does not escape (a word on the caller's stack stays
// there).
func waitFlags(addr *uint32, val uint32, timeout time.Duration, private bool) error {
	op := uintptr(opWait)
	if private {
		op |= opPrivateFlag
	}
	var deadline time.Time
	if timeout > 0 {
		// Monotonic reading: FUTEX_WAIT's relative timeout is measured on
		// CLOCK_MONOTONIC, and so is the remainder after an EINTR.
		deadline = time.Now().Add(timeout)
	}
	for {
		var tsp uintptr
		var ts unix.Timespec
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrTimeout
			}
			ts = unix.NsecToTimespec(int64(left))
			tsp = uintptr(unsafe.Pointer(&ts))
		}
		_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), op, uintptr(val), tsp, 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue // a signal, not a wake: resume with what is left
		case unix.EAGAIN:
			return ErrValueChanged
		case unix.ETIMEDOUT:
			return ErrTimeout
		default:
			return fmt.Errorf("futex: wait addr=%#x val=%d private=%t: %w", uintptr(unsafe.Pointer(addr)), val, private, errno)
		}
	}
}

// wakeFlags is Wake with a choice of the private flavour (see waitFlags).
func wakeFlags(addr *uint32, n int, private bool) (int, error) {
	count, ok := clampWake(n)
	if !ok {
		return 0, nil
	}
	op := uintptr(opWake)
	if private {
		op |= opPrivateFlag
	}
	woken, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), op, uintptr(count), 0, 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("futex: wake addr=%#x n=%d private=%t: %w", uintptr(unsafe.Pointer(addr)), n, private, errno)
	}
	return int(woken), nil
}

// sleepers counts the tasks asleep on addr (in the given flavour) without
// waking any: FUTEX_CMP_REQUEUE from addr to addr itself, waking none and
// requeueing all, returns the number it requeued, and requeueing a waiter
// onto the queue it is already on leaves it asleep where it was. Only tests
// use it, to know a sleeper is really asleep before they act.
// ErrValueChanged means *addr != val.
func sleepers(addr *uint32, val uint32, private bool) (int, error) {
	op := uintptr(opCmpRequeue)
	if private {
		op |= opPrivateFlag
	}
	const nrWake, nrRequeue = 0, math.MaxInt32 // nrRequeue travels in the timeout slot
	a := uintptr(unsafe.Pointer(addr))
	n, _, errno := unix.Syscall6(unix.SYS_FUTEX, a, op, nrWake, nrRequeue, a, uintptr(val))
	switch errno {
	case 0:
		return int(n), nil
	case unix.EAGAIN:
		return 0, ErrValueChanged
	default:
		return 0, fmt.Errorf("futex: requeue probe addr=%#x private=%t: %w", a, private, errno)
	}
}
