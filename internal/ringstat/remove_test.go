//go:build linux

package ringstat

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/ring"
)

// TestRemoveKeepsRolesOutUntilTheNameIsGone: a process that takes a role
// between Remove's probe and its unlink must find the role busy, or it
// holds a ring whose name is gone (a black-box tester saw `ringctl gc`
// remove, 5 times in 48 rounds, rings a live process had just taken a role
// on; a producer restarting under the name then made a new ring beside it).
func TestRemoveKeepsRolesOutUntilTheNameIsGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var late *ring.Ring
	var roleErr error
	beforeUnlink = func() {
		if late, err = ring.Open(path); err != nil {
			t.Error(err)
			return
		}
		_, roleErr = late.Consumer()
	}
	defer func() { beforeUnlink = func() {} }()
	held, err := Remove(path, false)
	if late != nil {
		defer late.Close()
	}
	if held || err != nil {
		t.Fatalf("Remove of an unheld ring = held %v, %v; want it removed", held, err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the ring is still there after Remove (Lstat = %v)", err)
	}
	if !errors.Is(roleErr, ring.ErrBusy) {
		t.Fatalf("a role taken between Remove's probe and its unlink: Consumer = %v, want ErrBusy (the ring was removed under it)", roleErr)
	}
}

// TestTwoRemoversDoNotTakeEachOtherForHolders: a remover's read lock is no
// role; a second Remove of the same dead ring meanwhile (two ringctl gc at
// once) removes it rather than report it held by a live process (a
// reviewer: the probe for any lock saw the other remover's).
func TestTwoRemoversDoNotTakeEachOtherForHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ring")
	r, err := ring.Create(path, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if heldAgainstRemoval(fd) { // the first remover, between its probe and its unlink
		t.Fatal("an unheld ring's read lock was refused")
	}
	if held, err := Remove(path, false); held || err != nil {
		t.Fatalf("Remove beside another remover = held %v, %v; want it removed", held, err)
	}
}
