package shm

// Rings in memfds, and descriptors of rings opened as files.
//
// A memfd (memfd_create(2)) is a file with no name in any directory: no
// /dev/shm entry to squat, plant, leave behind or fill (it is charged to
// its creator's memory, not to /dev/shm's size), reached only through
// descriptors, which its holders inherit or pass over a unix socket. Its
// creator seals it against shrinking and growing (fcntl(2), "File
// Sealing"), so no holder can cut pages from under a peer's mapping: the
// truncation a named ring survives with ErrTruncated cannot happen to it.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLabel is the longest memfd name memfd_create(2) takes.
const maxLabel = 249

// ringSeals are the seals a new memfd gets, in one F_ADD_SEALS: no
// shrinking, no growing, and no further change of its seals.
const ringSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// CreateMemfd makes a new memfd labelled label (1 to 249 bytes, no NUL:
// it shows in /proc/<pid>/fd as "/memfd:<label>", and names nothing) of
// s.Size bytes, sized, mapped and pre-faulted as Create does a file, then
// sealed against shrinking and growing. s.Huge makes it MFD_HUGETLB.
func CreateMemfd(label string, s Spec) (*File, error) {
	if label == "" || len(label) > maxLabel || strings.ContainsRune(label, 0) {
		return nil, fmt.Errorf("%w: memfd label %q, want 1 to %d bytes and no NUL", ErrName, label, maxLabel)
	}
	fd, err := memfdCreate(label, s.Huge)
	if err != nil {
		return nil, err
	}
	f := &File{f: os.NewFile(uintptr(fd), "memfd:"+label), label: label, memfd: true}
	err = f.build(s)
	if err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, ringSeals)
		if err != nil {
			err = fmt.Errorf("seal: %w", err)
		}
	}
	if err != nil {
		f.Close(false)
		return nil, fmt.Errorf("memfd %s: %w", label, err)
	}
	return f, nil
}

// memfdCreate asks for a close-on-exec, sealable memfd, never executable
// (MFD_NOEXEC_SEAL, Linux 6.3: a vm.memfd_noexec of 2 refuses memfds that
// could be; older kernels reject the flag with EINVAL and get none).
func memfdCreate(label string, huge bool) (int, error) {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	if huge {
		flags |= unix.MFD_HUGETLB
	}
	fd, err := unix.MemfdCreate(label, flags|unix.MFD_NOEXEC_SEAL)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(label, flags)
	}
	switch {
	case err == nil:
		return fd, nil
	case huge && errors.Is(err, unix.EINVAL):
		return -1, fmt.Errorf("%w: memfd_create(MFD_HUGETLB): %w (a kernel without hugetlbfs)", ErrNoHugePages, err)
	case errors.Is(err, unix.ENOSYS):
		return -1, fmt.Errorf("%w: memfd_create: %w (Linux 3.17 and later have it)", ErrUnsupported, err)
	}
	return -1, fmt.Errorf("memfd_create: %w", err)
}

// OpenFD opens the file behind f as Open opens a file at a name, checking
// on a descriptor of its own (a close-on-exec dup of f's; f stays the
// caller's) everything t asks, before a byte is read. A memfd, which has no
// name and so no mode that guards one (see Trust.check), must be sealed
// against shrinking (ErrUnsealed): any holder of a descriptor could
// otherwise cut pages from under the mapping. Any other file (a ring file
// in /dev/shm, say) is checked exactly as Open checks it.
func OpenFD(f *os.File, t Trust) (*File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	if cerr := rc.Control(func(d uintptr) { fd, err = unix.FcntlInt(d, unix.F_DUPFD_CLOEXEC, 0) }); cerr != nil {
		// Control fails only on a closed file, with the poller's own
		// error, which os.ErrClosed does not match.
		return nil, fmt.Errorf("descriptor: %w (%v)", os.ErrClosed, cerr)
	} else if errors.Is(err, unix.EBADF) {
		// A descriptor closed under the *os.File (os.NewFile of a number
		// no longer open, a syscall.Close of its Fd): the same mistake.
		return nil, fmt.Errorf("descriptor: %w (%w)", os.ErrClosed, err)
	} else if err != nil {
		return nil, fmt.Errorf("dup descriptor: %w", err)
	}
	osf := os.NewFile(uintptr(fd), f.Name())
	file, err := checkFD(osf, t)
	if err != nil {
		osf.Close()
		return nil, fmt.Errorf("descriptor: %w", err)
	}
	return file, nil
}

// readWrite: a ring is read and mapped shared for writing, so its
// descriptor must be open for both. A write-only or O_PATH one could not
// even read the header (pread fails, and the file would look empty to the
// wait for its creator); a read-only one could not be mapped.
func readWrite(fd int) error {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("F_GETFL: %w", err)
	}
	if fl&unix.O_PATH != 0 || fl&unix.O_ACCMODE != unix.O_RDWR {
		return fmt.Errorf("open with flags=%#o, want O_RDWR: a ring is read and written: %w", fl, fs.ErrPermission)
	}
	return nil
}

func checkFD(osf *os.File, t Trust) (*File, error) {
	// The kernel names the file behind a descriptor in /proc/self/fd:
	// "/memfd:<label> (deleted)" for a memfd. A file at a path of that
	// form would be taken for a memfd, and then refused: it cannot carry
	// F_SEAL_SHRINK.
	link, err := os.Readlink(procFD(osf.Fd()))
	if err != nil {
		return nil, noProc(err, procDir)
	}
	label, memfd := strings.CutPrefix(link, "/memfd:")
	if err := t.check(osf, memfd); err != nil {
		return nil, err
	}
	if err := readWrite(int(osf.Fd())); err != nil {
		return nil, err
	}
	if !memfd {
		return &File{f: osf, path: link, label: link}, nil
	}
	label = strings.TrimSuffix(label, " (deleted)")
	seals, err := unix.FcntlInt(osf.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: F_GET_SEALS: %w", ErrUnsealed, err)
	}
	if seals&unix.F_SEAL_SHRINK == 0 {
		return nil, fmt.Errorf("%w: %s has seals=%#x, without F_SEAL_SHRINK (%#x): any holder could shrink it under the mapping",
			ErrUnsealed, memfdNamed(label, osf.Name()), seals, unix.F_SEAL_SHRINK)
	}
	if w := seals & (unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE); w != 0 {
		// mmap would say only "operation not permitted".
		return nil, fmt.Errorf("%s has seals=%#x, sealed against writing (%#x): a ring is written by its peers: %w",
			memfdNamed(label, osf.Name()), seals, w, fs.ErrPermission)
	}
	return &File{f: osf, label: label, memfd: true, fixedSize: seals&unix.F_SEAL_GROW != 0}, nil
}

// memfdNamed names a memfd in an error by its label, unless the file's own
// name, which the caller's error gives already, is that label.
func memfdNamed(label, fileName string) string {
	if label == fileName {
		return "memfd"
	}
	return "memfd " + label
}

// Handout is a descriptor of the file for its holder's use (to inherit, to
// pass on): a dup of f's own, made once and closed by Close, so that a
// holder that closes it takes nothing from f. nil if the dup fails (no
// descriptor left). The caller serialises Handout with Close.
func (f *File) Handout() *os.File {
	if f.handout != nil && !stillOpen(f.handout) {
		f.handout = nil // its holder closed it: hand out a fresh dup
	}
	if f.handout == nil {
		d, err := f.Dup()
		if err != nil {
			return nil
		}
		f.handout = d
	}
	return f.handout
}

// stillOpen reports whether h was not closed: its holder may have closed
// it (having passed it on), and another *os.File's descriptor may since
// have taken its number.
func stillOpen(h *os.File) bool {
	rc, err := h.SyscallConn()
	return err == nil && rc.Control(func(uintptr) {}) == nil
}

// Dup is a new close-on-exec descriptor of the file, the caller's to close.
// The caller serialises Dup with Close.
func (f *File) Dup() (*os.File, error) {
	fd, err := unix.FcntlInt(f.f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.label, err)
	}
	return os.NewFile(uintptr(fd), f.f.Name()), nil
}
