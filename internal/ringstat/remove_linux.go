//go:build linux

package ringstat

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/shm"
)

// ErrReplaced: the name led to another file by the time it was to be
// removed (a new ring was created under it).
var ErrReplaced = errors.New("ringstat: the name now leads to another file")

// Remove unlinks the ring file at path, unless a live process holds a lock
// on it: then it reports held and leaves it, or with force removes the
// name anyway (its users keep the ring; nobody new can open it). It probes
// the very file it removes: the probe is made on a descriptor opened first,
// and the name is unlinked only if it still leads to that file, so a ring
// created under the name in between is left alone. The probe is a read
// lock over the whole file, kept until the name is gone: every role is a
// write lock on a byte of it, so no process can take a role between the
// probe and the unlink (one that tries finds the role busy).
//
// What is not a regular file is no ring: with force Remove unlinks a
// symbolic link (the link, never what it leads to), a FIFO or a socket, and
// it never removes what Unremovable names.
func Remove(path string, force bool) (held bool, err error) {
	if why := Unremovable(path); why != "" {
		return false, fmt.Errorf("%s: %s", path, why)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENXIO):
		// A symbolic link (O_NOFOLLOW), a socket: nothing to open.
		return false, removeOther(path, force)
	case errors.Is(err, unix.EACCES) && force:
		// A file this user may not read, in a directory it may write:
		// no lock can be probed, and --force removes it anyway.
		if err := unix.Unlink(path); err != nil {
			return false, fmt.Errorf("remove %s: %w", path, err)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var before, now unix.Stat_t
	if err := unix.Fstat(fd, &before); err != nil {
		return false, fmt.Errorf("fstat %s: %w", path, err)
	}
	if before.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, removeOther(path, force)
	}
	held = heldAgainstRemoval(fd)
	if held && !force {
		return true, nil
	}
	beforeUnlink()
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

// heldAgainstRemoval takes a read lock over the whole file on fd, which
// every role lock (a write lock) conflicts with, for as long as fd stays
// open, and reports whether a role is held: the lock refused. Another
// remover's read lock does not conflict with it, so two removers do not
// take each other for live holders. A file system without OFD locks (no
// role can be taken there either) is probed as before the lock.
func heldAgainstRemoval(fd int) bool {
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: 0, Start: 0, Len: 0}
	switch err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk); {
	case err == nil:
		return false
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EACCES):
		return true
	}
	return lockHeld(fd, 0, 0)
}

// beforeUnlink is where a test takes a role while Remove is about to
// unlink; nothing otherwise.
var beforeUnlink = func() {}

// Unremovable says why Remove never removes what is at path, even with
// force, or "": a directory, a device, or a process's descriptor link
// (/proc/PID/fd/N), which is no name of the file it leads to.
func Unremovable(path string) string {
	if procFD.MatchString(path) {
		why := "a process's descriptor link, not a name of the ring: removing it would remove nothing"
		target, err := os.Readlink(path)
		switch {
		case err != nil:
		case strings.HasPrefix(target, "/memfd:"):
			why += "; a memfd ring goes when the last process holding it closes it"
		case strings.HasPrefix(target, "/"):
			why += "; the ring file it leads to is " + target
		}
		return why
	}
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil {
		return "" // Remove says what is wrong
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory: ringctl does not remove directories"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device: ringctl does not remove devices"
	}
	return ""
}

// removeOther unlinks what is at path that is neither a regular file nor
// Unremovable: a symbolic link, a FIFO or a socket, only with force.
// unlink(2) removes the name itself and follows no symbolic link.
func removeOther(path string, force bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Errorf("lstat %s: %w", path, err)
	}
	switch typ := st.Mode & unix.S_IFMT; {
	case typ == unix.S_IFREG:
		return fmt.Errorf("%s: %w", path, ErrReplaced)
	case typ != unix.S_IFLNK && typ != unix.S_IFIFO && typ != unix.S_IFSOCK:
		return fmt.Errorf("%s is a %s: ringctl removes only ring files, and with --force symbolic links, FIFOs and sockets", path, shm.FileType(st.Mode))
	case !force:
		return fmt.Errorf("%s is a %s, not a ring file; --force removes it", path, shm.FileType(st.Mode))
	}
	if err := unix.Unlink(path); err != nil {
		return fmt.Errorf("remove the %s %s: %w", shm.FileType(st.Mode), path, err)
	}
	return nil
}
