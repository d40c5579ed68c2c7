package shm

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCloseDropsTheLocksNotUnlocked: a lock taken and never unlocked (a
// role whose taking faulted half-way, on a truncated file, unwound past its
// unlock) is dropped by the File's Close, not held until the garbage
// collector finds its descriptor; a lock unlocked before Close is not
// closed twice.
func TestCloseDropsTheLocksNotUnlocked(t *testing.T) {
	path := fmt.Sprintf("%s/shmring-test-shm-lock-%d", Dir, os.Getpid())
	f, err := Create(path, Spec{Size: 4096, Perm: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	kept, err := f.Lock(8)
	if err != nil {
		t.Fatal(err)
	}
	let, err := f.Lock(16)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Unlock(16, let); err != nil {
		t.Fatal(err)
	}
	if !byteLocked(t, path, 8) {
		t.Fatal("the lock taken is not held")
	}
	if err := f.Close(false); err != nil {
		t.Fatal(err)
	}
	if byteLocked(t, path, 8) {
		t.Error("the lock never unlocked is still held after Close")
	}
	// Its holder's own unlock, racing the Close (a handle closed as the
	// Ring closes), has nothing left to let go of: no error.
	if err := f.Unlock(8, kept); err != nil {
		t.Errorf("Unlock of a lock the File's Close dropped = %v, want nil", err)
	}
}

// byteLocked probes byte at of path's file from a description of its own.
func byteLocked(t *testing.T, path string, at int64) bool {
	t.Helper()
	pf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: at, Len: 1}
	if err := unix.FcntlFlock(pf.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		t.Fatal(err)
	}
	return lk.Type != unix.F_UNLCK
}

// TestCreateOnAFileSystemOutOfInodesIsErrNoSpace: open's ENOSPC (no inode
// left, though blocks are) is a shortage of room as the size's is.
func TestCreateOnAFileSystemOutOfInodesIsErrNoSpace(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,nr_inodes=2"); err != nil {
		t.Skipf("mounting a tmpfs with two inodes needs CAP_SYS_ADMIN: %v", err)
	}
	defer unix.Unmount(dir, 0)
	var err error
	for i := 0; i < 3 && err == nil; i++ { // the root directory takes one inode
		var f *File
		if f, err = Create(fmt.Sprintf("%s/r%d", dir, i), Spec{Size: 4096, Perm: 0o600}); err == nil {
			f.Close(false)
		}
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Create with no inode left = %v, want ErrNoSpace", err)
	}
}
