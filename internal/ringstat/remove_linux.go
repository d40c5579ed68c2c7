//go:build linux

package ringstat

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrReplaced: the name led to another file by the time it was to be
// removed (a new ring was created under it).
var ErrReplaced = errors.New("ringstat: the name now leads to another file")

// Remove unlinks the ring file at path, unless a live process holds a lock
// on it: then it reports held and leaves it, or with force removes the
// name anyway (its users keep the ring; nobody new can open it). It probes
// the very file it removes: the probe is made on a descriptor opened first,
// and the name is unlinked only if it still leads to that file, so a ring
// created under the name in between is left alone. A role taken between the
// probe and the unlink is not seen: the last probe is as late as it can be.
func Remove(path string, force bool) (held bool, err error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var before, now unix.Stat_t
	if err := unix.Fstat(fd, &before); err != nil {
		return false, fmt.Errorf("fstat %s: %w", path, err)
	}
	if before.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, fmt.Errorf("%s is not a regular file; ringctl removes only ring files", path)
	}
	held = lockHeld(fd, 0, 0)
	if held && !force {
		return true, nil
	}
	if err := unix.Lstat(path, &now); err != nil {
		return held, fmt.Errorf("lstat %s: %w", path, err)
	}
	if now.Dev != before.Dev || now.Ino != before.Ino {
		return held, fmt.Errorf("%s: %w", path, ErrReplaced)
	}
	if err := unix.Unlink(path); err != nil {
		return held, fmt.Errorf("remove %s: %w", path, err)
	}
	return held, nil
}
