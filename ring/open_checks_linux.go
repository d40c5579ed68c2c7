package ring

// What Open checks before it reads a byte of a ring file.
//
// /dev/shm is world-writable (sticky): any local user can plant a file, or a
// symbolic link to one, under the name a victim will open. A victim that
// opened it would write its messages into the planter's file, or read
// forged ones. So Open follows no symbolic link at the name, accepts only a
// regular file that its own effective user (or a user it names) owns and
// that no one else may write unless it said whom it trusts, and refuses a
// file larger than it agreed to map. Every check is made on the opened
// descriptor (fstat), never on the path, so what was checked is what is
// mapped.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// openRingFile opens an existing ring file for reading and writing.
// O_NOFOLLOW makes a symbolic link at the name fail with ELOOP (open(2));
// O_CLOEXEC keeps the descriptor out of programs this process executes (os
// sets it too; it is named here because the recipe in LAYOUT.md needs it).
// Opening a FIFO for reading and writing does not block on Linux (fifo(7)),
// so a FIFO at the name reaches the fstat check below instead of hanging.
func openRingFile(name, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: ring=%s path=%s", ErrNotExist, name, path)
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("%w: ring=%s path=%s", ErrSymlink, name, path)
	case errors.Is(err, unix.EISDIR), errors.Is(err, unix.ENXIO): // a directory; a socket
		return nil, fmt.Errorf("%w: ring=%s path=%s: %w", ErrNotRegular, name, path, err)
	}
	return nil, fmt.Errorf("ring: open %s: %w", path, err)
}

// checkTrust refuses, each with its own error, a file that is not regular,
// has an owner o does not trust, may be written by users o does not trust,
// or is larger than o lets Open map.
func checkTrust(f *os.File, name string, o OpenOptions) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("ring: fstat %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%w: ring=%s is a %s", ErrNotRegular, name, fileType(st.Mode))
	}
	if euid := os.Geteuid(); st.Uid != uint32(euid) && !containsID(o.TrustUIDs, st.Uid) {
		return fmt.Errorf("%w: ring=%s owner uid=%d, trusted uid=%d and TrustUIDs=%v", ErrForeignOwner, name, st.Uid, euid, o.TrustUIDs)
	}
	if !o.AllowWorldWrite {
		perm := st.Mode & 0o777
		if perm&0o002 != 0 {
			return fmt.Errorf("%w: ring=%s mode=%#o is world-writable and AllowWorldWrite is false", ErrInsecureMode, name, perm)
		}
		if perm&0o020 != 0 && !containsID(o.TrustGIDs, st.Gid) {
			return fmt.Errorf("%w: ring=%s mode=%#o is writable by group gid=%d, not in TrustGIDs=%v", ErrInsecureMode, name, perm, st.Gid, o.TrustGIDs)
		}
	}
	if limit := o.maxFileSize(); st.Size > limit {
		return fmt.Errorf("%w: ring=%s file size=%d, MaxFileSize=%d", ErrFileTooBig, name, st.Size, limit)
	}
	return nil
}

// containsID compares as the kernel does, as unsigned 32-bit ids.
func containsID(ids []int, id uint32) bool {
	for _, v := range ids {
		if uint32(v) == id {
			return true
		}
	}
	return false
}

func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "device"
	case unix.S_IFLNK:
		return "symbolic link"
	}
	return fmt.Sprintf("file of type %#o", mode&unix.S_IFMT)
}
