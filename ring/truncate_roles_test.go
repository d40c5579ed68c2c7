//go:build linux

package ring

// Taking a role, or resetting, on a shrunk file: the calls fail with
// ErrTruncated and leave no liveness lock behind, before the Ring's Close
// and after it.

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTakingARoleOnAShrunkFileIsErrTruncatedAndHoldsNothing: with the file
// cut inside its slots (the control area still mapped, the counter area and
// the end unit gone) or cut there and grown back, Producer, Consumer or
// Reader, and Reset, return ErrTruncated every time, a second try included,
// and no lock on the file is held by anyone once the Ring is closed. A role
// taking faulted after its lock was taken and kept the lock (and a
// descriptor) until the garbage collector ran, so the second try said
// ErrBusy; Reset said nil where the cut spared what it wiped. (From a
// black-box tester.)
func TestTakingARoleOnAShrunkFileIsErrTruncatedAndHoldsNothing(t *testing.T) {
	for _, regrow := range []bool{false, true} {
		for _, o := range []Options{
			{Kind: SPSC, SlotSize: 4 << 10, Slots: 64},
			{Kind: MPMC, SlotSize: 4 << 10, Slots: 64},
			{Kind: MPSC, SlotSize: 4 << 10, Slots: 64},
			{Kind: Broadcast, SlotSize: 4 << 10, Slots: 64},
			{Kind: SPSC, Records: true, Capacity: 256 << 10},
			{Kind: Broadcast, Records: true, Capacity: 256 << 10},
		} {
			name := fmt.Sprintf("%v records=%v regrow=%v", o.Kind, o.Records, regrow)
			t.Run(name, func(t *testing.T) {
				if raceEnabled && !regrow {
					t.Skip("under -race a fault in an atomic access ends the process (guard.go)")
				}
				r := newTestRing(t, o)
				size := int64(r.hdr.FileSize)
				if err := os.Truncate(r.Path(), int64(r.hdr.SlotsOffset)+64); err != nil {
					t.Fatal(err)
				}
				if regrow {
					if err := os.Truncate(r.Path(), size); err != nil {
						t.Fatal(err)
					}
				}
				take := map[string]func() error{
					"Producer": func() error { _, err := r.Producer(); return err },
					"Reset":    r.Reset,
				}
				if o.Kind == Broadcast {
					take["Reader"] = func() error { _, err := r.Reader(ReaderOptions{Policy: Lossless}); return err }
				} else {
					take["Consumer"] = func() error { _, err := r.Consumer(); return err }
				}
				for call, f := range take {
					for try := 1; try <= 2; try++ {
						if err := f(); !errors.Is(err, ErrTruncated) {
							t.Errorf("%s on a shrunk file, try %d = %v, want ErrTruncated", call, try, err)
						}
					}
				}
				if held := fileLockHeld(t, r.Path()); held {
					t.Error("a liveness lock on the shrunk file is held after the failed calls")
				}
				r.Close()
				if held := fileLockHeld(t, r.Path()); held {
					t.Error("a liveness lock on the shrunk file is held after the Ring's Close")
				}
			})
		}
	}
}

// fileLockHeld reports whether any open file description holds a lock on
// any byte of the file at path (this process's included: the probe's own
// description holds none).
func fileLockHeld(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 0, Len: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		t.Fatal(err)
	}
	return lk.Type != unix.F_UNLCK
}
