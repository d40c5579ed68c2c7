package ring

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// allocate gives the file its size with every page really allocated, so that
// a full tmpfs fails here with ENOSPC instead of killing a process with
// SIGBUS on first touch. File systems without fallocate get ftruncate; the
// populate step at map time then reports a shortage as an error.
func allocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = f.Truncate(size)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.ENOMEM), errors.Is(err, unix.EFBIG):
		return fmt.Errorf("%w: size=%d: %w", ErrNoSpace, size, err)
	}
	return fmt.Errorf("ring: allocate size=%d: %w", size, err)
}

// populate pre-faults every page of the mapping writable (a first touch costs
// about 12 µs a page here, which must not land on the data path). A page the
// file system cannot supply is an error, not a SIGBUS.
func populate(m []byte) error {
	err := unix.Madvise(m, unix.MADV_POPULATE_WRITE)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EINVAL) { // kernel older than 5.14: touch by reading
		page := os.Getpagesize()
		var sink byte
		for i := 0; i < len(m); i += page {
			sink += m[i]
		}
		_ = sink
		return nil
	}
	if errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.EFAULT) {
		return fmt.Errorf("%w: populate %d bytes: %w", ErrNoSpace, len(m), err)
	}
	return fmt.Errorf("ring: populate %d bytes: %w", len(m), err)
}

// roleLock holds a role: an open-file-description write lock on one byte of
// the ring file, taken through a descriptor of its own so that it belongs to
// this role handle alone, and dropped by the kernel if the process dies.
type roleLock struct{ f *os.File }

// lockRole takes the lock on byte at, or reports ErrBusy. Its descriptor is
// a reopening of ring (through /proc/self/fd), not of its
// path: the lock must land on this ring's file even after its name was
// removed, or removed and given to a new ring.
func lockRole(ring *os.File, at int64) (roleLock, error) {
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(ring.Fd())), os.O_RDWR, 0)
	if err != nil {
		return roleLock{}, fmt.Errorf("ring: reopen for role lock: %w", err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: at, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return roleLock{}, ErrBusy
		}
		return roleLock{}, fmt.Errorf("ring: role lock at=%d: %w", at, err)
	}
	return roleLock{f: f}, nil
}

func (l roleLock) release() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close() // closing the last descriptor drops the OFD lock
}

// roleHeld reports whether some open file description other than f's holds
// the lock on byte at: whether that role's holder is alive.
func roleHeld(f *os.File, at int64) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: at, Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false, fmt.Errorf("ring: probe role lock at=%d: %w", at, err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

// createRingFile makes a new, empty ring file that only its creator may use:
// O_EXCL, so that nothing already at the name (a file, a planted symbolic
// link, dangling or not) is ever reused, and mode 0600 until Create has set
// the group and the mode it was asked for.
func createRingFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
}

// removeFile unlinks a ring file's name: unlink(2), never rmdir, so a
// directory at the name stays.
func removeFile(path string) error {
	if err := unix.Unlink(path); err != nil {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

// supported is nil: Linux has what a ring needs.
func supported() error { return nil }
