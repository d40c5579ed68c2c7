//go:build linux

package ring

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHandoffLostAtTheDescriptorLimitIsErrHandoff: a process one
// descriptor short of what RecvRing needs. The kernel installs the ring's
// descriptor, but the duplicate the Ring keeps cannot be made: that
// handoff is as lost as one the kernel dropped at the limit, and is
// ErrHandoff as that one is (it was an error of no ring type, "dup
// descriptor: too many open files"). Nothing stays open. (From a
// black-box tester.)
func TestHandoffLostAtTheDescriptorLimitIsErrHandoff(t *testing.T) {
	r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	a, b := socketPair(t, unix.SOCK_STREAM)
	if err := SendRing(a, r); err != nil {
		t.Fatal(err)
	}
	before := descriptorsOf(t, r.Name())
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	// The lowest free number: the kernel installs the received descriptor
	// there, and the limit just above it leaves no room for the duplicate.
	probe, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(probe)
	tight := unix.Rlimit{Cur: uint64(probe) + 1, Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &tight); err != nil {
		t.Fatal(err)
	}
	got, err := RecvRing(b)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if err == nil || errors.Is(err, ErrHandoff) && !errors.Is(err, syscall.EMFILE) {
		if got != nil {
			got.Close()
		}
		t.Skipf("a descriptor opened meanwhile took the lowest free number (%v): nothing tested", err)
	}
	if !errors.Is(err, ErrHandoff) || !errors.Is(err, syscall.EMFILE) {
		t.Errorf("RecvRing one descriptor short = %v, want ErrHandoff (and EMFILE)", err)
	}
	if after := descriptorsOf(t, r.Name()); after != before {
		t.Errorf("%d descriptors of the memfd before RecvRing, %d after it failed", before, after)
	}
}

// TestOpenFileOfADescriptorClosedUnderItsFileIsErrInvalid: an *os.File
// whose number is no longer open (os.NewFile of a stale number, or a
// syscall.Close of its Fd) is the caller's closed file, ErrInvalid as a
// closed *os.File is; it was a bare EBADF. (From a black-box tester.)
func TestOpenFileOfADescriptorClosedUnderItsFileIsErrInvalid(t *testing.T) {
	// A number past the descriptor limit, which nothing can open meanwhile
	// (so the File's Close cannot close someone else's descriptor).
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(min(lim.Cur, 1<<30))+1, "stale")
	defer f.Close()
	_, err := OpenFile(f)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, syscall.EBADF) {
		t.Errorf("OpenFile of a descriptor closed under its *os.File = %v, want ErrInvalid (and EBADF)", err)
	}
}
