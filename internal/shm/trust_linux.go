package shm

// What Open checks before it reads a byte of a file.
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
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// check refuses, each with its own error, a file that is not regular
// (ErrNotRegular), has an owner t does not trust (ErrForeignOwner), may be
// written by users t does not trust (ErrInsecureMode), or is larger than
// t.MaxSize (ErrTooBig).
//
// The mode is not checked for a memfd: mode bits say who may open a file
// by its name, and a memfd never had one. It is reached only through a
// descriptor its holders hand out, or through /proc/<pid>/fd of a holder,
// which takes the power to ptrace that holder already (proc(5)).
func (t Trust) check(f *os.File, memfd bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%w: it is a %s", ErrNotRegular, FileType(st.Mode))
	}
	if euid := os.Geteuid(); st.Uid != uint32(euid) && !trusted(t.UIDs, st.Uid) {
		return fmt.Errorf("%w: owner uid=%d, trusted uid=%d and TrustUIDs=%v", ErrForeignOwner, st.Uid, euid, t.UIDs)
	}
	if perm := st.Mode & 0o777; !t.AllowWorldWrite && !memfd {
		if perm&0o002 != 0 {
			return fmt.Errorf("%w: mode=%#o is world-writable and AllowWorldWrite is false", ErrInsecureMode, perm)
		}
		if perm&0o020 != 0 && !trusted(t.GIDs, st.Gid) {
			return fmt.Errorf("%w: mode=%#o is writable by group gid=%d, not in TrustGIDs=%v", ErrInsecureMode, perm, st.Gid, t.GIDs)
		}
	}
	if st.Size > t.MaxSize {
		return fmt.Errorf("%w: file size=%d, MaxFileSize=%d", ErrTooBig, st.Size, t.MaxSize)
	}
	return nil
}

// trusted compares as the kernel does, as unsigned 32-bit ids.
func trusted(ids []int, id uint32) bool {
	return slices.ContainsFunc(ids, func(v int) bool { return uint32(v) == id })
}

// FileType names the kind of file mode is (stat(2) st_mode), for messages.
func FileType(mode uint32) string {
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
