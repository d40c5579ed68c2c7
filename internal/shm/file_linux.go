package shm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/layout"
)

// Supported is true: Linux has what a ring needs.
const Supported = true

// Create makes a new file for name (name.go), of s.Size bytes (whole huge
// pages on hugetlbfs) with every page allocated, and maps it.
// O_EXCL|O_NOFOLLOW: nothing already at the name (a file, a planted symbolic link, dangling or not) is
// ever reused (ErrExist). The file has mode 0600 until it is given group
// s.GID (if not zero) and then s.Perm (0600 if zero), through its
// descriptor, so no one else can write it at any moment before; the umask
// neither weakens nor widens the mode. A failed Create leaves no file.
func Create(name string, s Spec) (*File, error) {
	path, err := Resolve(name)
	if err != nil {
		return nil, err
	}
	osf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("%w: %w", ErrExist, err)
	case errors.Is(err, fs.ErrNotExist): // the directory of a path name
		return nil, fmt.Errorf("%w: %w", ErrNotExist, err)
	case errors.Is(err, unix.EROFS):
		return nil, readOnly(err)
	case err != nil:
		return nil, noSpace(err, err) // ENOSPC here: a file system out of inodes
	}
	f := &File{f: osf, path: path, label: path}
	if err := f.build(s); err != nil {
		f.Close(false)
		unix.Unlink(path)
		return nil, &fs.PathError{Op: "create", Path: path, Err: err}
	}
	return f, nil
}

// build gives a new file its group, mode and size, and maps it with every
// page allocated (mapPages).
func (f *File) build(s Spec) error {
	if s.GID != 0 {
		if err := f.f.Chown(-1, s.GID); err != nil {
			return err
		}
	}
	perm := s.Perm.Perm()
	if perm == 0 {
		perm = 0o600
	}
	if err := f.f.Chmod(perm); err != nil {
		return err
	}
	n, err := f.pages(s.Size)
	if err != nil {
		return err
	}
	page, err := f.hugePage()
	if err != nil {
		return err
	} else if s.Huge && page == 0 {
		return fmt.Errorf("%w: %s is not on hugetlbfs", ErrNotHuge, f.label)
	}
	if page == 0 { // huge pages come from their own pool: memory_linux.go
		if err := checkRoom(f.f, uint64(n)); err != nil {
			return err
		}
	}
	if f.faultToAllocate(int(n)) { // thp_linux.go
		err = f.f.Truncate(int64(n))
		if err != nil {
			err = noSpace(fmt.Errorf("size %d: %w", n, err), err)
		}
	} else {
		_, err = allocate(f.f, int64(n))
	}
	if page != 0 && errors.Is(err, ErrNoSpace) {
		return noHugePages(err)
	} else if err != nil {
		return err
	}
	return f.mapPages(int(n), true)
}

// Open opens the file for name (name.go) for reading and writing, and
// checks on the descriptor everything t asks before a byte is read. O_NOFOLLOW makes a
// symbolic link at the name fail with ELOOP (open(2)); O_CLOEXEC keeps the
// descriptor out of programs this process executes (os sets it too; it is
// named because the recipe in LAYOUT.md needs it). Opening a FIFO for
// reading and writing does not block on Linux (fifo(7)), so a FIFO at the
// name reaches the fstat check instead of hanging.
func Open(name string, t Trust) (*File, error) {
	path, err := Resolve(name)
	if err != nil {
		return nil, err
	}
	osf, err := os.OpenFile(path, os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %w", ErrNotExist, err)
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("%w: %w", ErrSymlink, err)
	case errors.Is(err, unix.EISDIR), errors.Is(err, unix.ENXIO): // a directory; a socket
		return nil, fmt.Errorf("%w: %w", ErrNotRegular, err)
	case errors.Is(err, unix.EROFS):
		return nil, readOnly(err)
	case err != nil:
		return nil, err
	}
	if err := t.check(osf, false); err != nil {
		osf.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &File{f: osf, path: path, label: path}, nil
}

// readOnly is the error of a ring file opened for writing on a read-only
// file system: a permission error (fs.ErrPermission), as a directory the
// caller may not write gives, rather than a bare errno no sentinel names.
func readOnly(err error) error { return fmt.Errorf("%w: %w", err, fs.ErrPermission) }

// Remove unlinks the file for name, if it is a ring's: unlink(2), never
// rmdir. A name is any path, and a mistaken one must not cost a file that
// is no ring (a black-box tester removed /etc/passwd with it, as root), nor
// drive a device or wake a FIFO's writer by opening it. So the name is
// first opened with O_PATH (no open of the file itself: no driver's or
// FIFO's open runs) and its type looked at; only a regular file is opened
// again, through that descriptor, to read its start; and the name is
// unlinked only if it still leads to that file:
//
//   - a regular file that starts with layout.Magic is removed, and so is
//     what a Create that never finished leaves on tmpfs or hugetlbfs: an
//     empty file, or one whose first page is all zero;
//   - a symbolic link is removed itself, never what it leads to;
//   - anything else stays: other data (ErrNotRing), a directory, device,
//     FIFO or socket (ErrNotRegular), a file this user may not read (a
//     permission error), a name that led to another file by the time it
//     was to be unlinked (ErrExist).
func Remove(name string) error {
	path, err := Resolve(name)
	if err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return unlinkErr(path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return unlinkSame(path, &st) // the link goes, never what it leads to
	case unix.S_IFREG:
	default:
		return fmt.Errorf("%w: %s is a %s, not a ring file", ErrNotRegular, path, FileType(st.Mode))
	}
	if err := mayBeRing(fd, path, &st); err != nil {
		return err
	}
	return unlinkSame(path, &st)
}

// mayBeRing: the regular file of the O_PATH descriptor fd starts as a ring
// does, or as a Create that never finished left it (Remove's list). It
// reads through a descriptor of its own, reopened from fd (the same file,
// whatever the name leads to now).
func mayBeRing(fd int, path string, st *unix.Stat_t) error {
	var sfs unix.Statfs_t
	inMemory := unix.Fstatfs(fd, &sfs) == nil && (uint32(sfs.Type) == unix.TMPFS_MAGIC || uint32(sfs.Type) == unix.HUGETLBFS_MAGIC)
	if st.Size == 0 && inMemory {
		return nil // a Create that died before it sized the file
	}
	rfd, err := unix.Open(procFD(uintptr(fd)), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return unlinkErr(path, noProc(err, procDir))
	}
	defer unix.Close(rfd)
	head := make([]byte, min(max(st.Size, layout.MagicSize), 4096))
	n, err := unix.Pread(rfd, head, layout.MagicOffset)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	head = head[:n]
	if len(head) >= layout.MagicSize && string(head[:layout.MagicSize]) == layout.Magic {
		return nil
	}
	if inMemory && allZero(head) {
		return nil // a Create that died before it wrote its header
	}
	return fmt.Errorf("%w: %s starts with %q, not %q (nor is it, on tmpfs, empty or zeros, as a ring never finished): not removed",
		ErrNotRing, path, head[:min(len(head), layout.MagicSize)], layout.Magic)
}

// unlinkSame unlinks path if it still names the file st describes: the
// name may have been given to another file since it was looked at.
func unlinkSame(path string, st *unix.Stat_t) error {
	afterLook()
	var now unix.Stat_t
	if err := unix.Lstat(path, &now); err != nil {
		return unlinkErr(path, err)
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		return fmt.Errorf("%w: %s: the name led to another file by the time it was to be removed", ErrExist, path)
	}
	if err := unix.Unlink(path); err != nil {
		return unlinkErr(path, err)
	}
	return nil
}

// afterLook runs between Remove's look at the file and its check that the
// name still leads there: a test gives the name to another file there.
// (Between that check and the unlink a process that may write the
// directory could still swap it; in sticky /dev/shm only for a file of
// its own.)
var afterLook = func() {}

// allZero: b has no byte set (a file not written yet).
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// unlinkErr is Remove's error for err, which looking at or unlinking path
// met.
func unlinkErr(path string, err error) error {
	pe := &fs.PathError{Op: "remove", Path: path, Err: err}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrNotExist, pe)
	case errors.Is(err, unix.EISDIR):
		return fmt.Errorf("%w: %w", ErrNotRegular, pe)
	case errors.Is(err, unix.EROFS):
		return readOnly(pe)
	}
	return pe
}

// pages is how many bytes a file holding size bytes really takes, all of
// them mapped: size itself, except on hugetlbfs, whose files and mappings
// come in whole huge pages (ftruncate and munmap of any other length fail
// with EINVAL), so there size rounded up to the huge page size; the tail
// is mapped and never used. ErrTooBig if this process cannot map that much.
func (f *File) pages(size uint64) (uint64, error) {
	page, err := f.hugePage()
	if err != nil {
		return 0, err
	}
	if page != 0 {
		size = (size + page - 1) &^ (page - 1)
	}
	return size, Mappable(size)
}

// hugePage is the huge page size of the hugetlbfs the file is on (a
// hugetlb memfd included), or 0 for any other file system.
func (f *File) hugePage() (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("fstatfs: %w", err)
	}
	if uint32(st.Type) != unix.HUGETLBFS_MAGIC {
		return 0, nil
	}
	page := uint64(st.Bsize) // hugetlbfs reports its huge page size here (statfs(2))
	if page == 0 || page&(page-1) != 0 {
		return 0, fmt.Errorf("hugetlbfs page size=%d, want a power of two", page)
	}
	return page, nil
}

// MapLen is how many bytes of an opened file to Map for size bytes of
// content (see pages), once the file's real size is checked to be exactly
// that: ErrShort for a shorter file (a truncated one), ErrSize for a longer
// one (grown, or foreign), ErrTooBig for more than this process can map.
func (f *File) MapLen(size uint64) (int, error) {
	n, err := f.pages(size)
	if err != nil {
		return 0, err
	}
	st, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	if uint64(st.Size()) < n {
		return 0, fmt.Errorf("%w: file size=%d, want %d for %d bytes", ErrShort, st.Size(), n, size)
	}
	if uint64(st.Size()) != n {
		return 0, fmt.Errorf("%w: file size=%d, want %d for %d bytes (a grown or foreign file)", ErrSize, st.Size(), n, size)
	}
	return int(n), nil
}

// Map maps the first n bytes of an opened file (n from MapLen), shared and
// writable, and pre-faults them.
func (f *File) Map(n int) error { return f.mapPages(n, false) }

// mapPages maps the first n bytes of the file, shared and writable, advises
// transparent huge pages for a large one (thp_linux.go), and pre-faults
// every page writable: a first touch costs about 12 µs a page, which must
// not land on a ring's data path. A new (fresh) file that build did not
// fallocate (a tmpfs that gives huge pages only to advised mappings) gets
// its pages here, after the advice. A page the file system cannot supply
// is ErrNoSpace (ErrNoHugePages on hugetlbfs), not a SIGBUS later.
func (f *File) mapPages(n int, fresh bool) error {
	huge, err := f.hugePage()
	if err != nil {
		return err
	}
	p, err := unix.MmapPtr(int(f.f.Fd()), 0, nil, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		// hugetlbfs reserves a shared mapping's pages at mmap: ENOMEM is
		// a pool without enough free huge pages.
		err = fmt.Errorf("mmap %d bytes: %w", n, err)
		if huge != 0 && errors.Is(err, unix.ENOMEM) {
			return noHugePages(err)
		}
		return err
	}
	mem := unsafe.Slice((*byte)(p), n)
	if huge == 0 {
		adviseTHP(mem)
	}
	if err := f.populate(mem, fresh); err != nil {
		unix.MunmapPtr(p, uintptr(n))
		if huge != 0 && errors.Is(err, ErrNoSpace) {
			return noHugePages(err)
		}
		return err
	}
	f.mem = mem
	// The range goes back to the kernel once f is garbage: nothing that
	// holds f can reach it any more, closed or not. A File dropped
	// unclosed (its Ring collected) would otherwise keep the file's pages
	// mapped, and a memfd's memory with them, for the life of the process.
	runtime.AddCleanup(f, func(reg region) { unix.MunmapPtr(reg.addr, reg.len) }, region{p, uintptr(n)})
	return nil
}

// populate pre-faults every page of m writable with MADV_POPULATE_WRITE
// (Linux 5.14), one call that fails with an error where a touch would
// raise SIGBUS, and then writes each page of a fresh file once (touch).
// Older kernels get what came before it: a fresh file's pages allocated
// with fallocate (so a full tmpfs is an error there too; again, for most
// files, at no cost), then the same write of each page, which cannot
// fault once they are allocated (a file system without fallocate gets the
// read instead); an existing file's pages are read, for a process that
// maps a ring it did not make writes none of it here.
func (f *File) populate(m []byte, fresh bool) error {
	err := unix.Madvise(m, unix.MADV_POPULATE_WRITE)
	for errors.Is(err, unix.EINTR) { // a signal, as for allocate
		err = unix.Madvise(m, unix.MADV_POPULATE_WRITE)
	}
	switch {
	case err == nil:
		if fresh {
			// Every page is there now, so a write cannot fault: a
			// host that backs the guest lazily (touch_linux.go).
			touch(m)
		}
		return nil
	case errors.Is(err, unix.EINVAL): // kernel older than 5.14
		if fresh {
			allocated, err := allocate(f.f, int64(len(m)))
			if err != nil {
				return err
			}
			if allocated { // else a page may be missing, and a write to it a SIGBUS
				touch(m)
				return nil
			}
		}
		page, sink := os.Getpagesize(), byte(0)
		for i := 0; i < len(m); i += page {
			sink += m[i]
		}
		_ = sink
		return nil
	}
	// EFAULT: a page the file system could not supply (the fault that
	// would have been SIGBUS); ENOMEM: out of memory. A file that is now
	// shorter than the mapping was shrunk since it was sized (a peer's
	// ftruncate racing this Open): no shortage of room.
	var st unix.Stat_t
	if errors.Is(err, unix.EFAULT) && unix.Fstat(int(f.f.Fd()), &st) == nil && st.Size < int64(len(m)) {
		return fmt.Errorf("%w: populate %d bytes: the file shrank to %d meanwhile: %w", ErrShort, len(m), st.Size, err)
	}
	return noSpace(fmt.Errorf("populate %d bytes: %w", len(m), err), err)
}

// noSpace marks err ErrNoSpace where cause is a shortage of memory or
// room.
func noSpace(err, cause error) error {
	for _, e := range []error{unix.ENOSPC, unix.ENOMEM, unix.EFBIG, unix.EFAULT} {
		if errors.Is(cause, e) {
			return fmt.Errorf("%w: %w", ErrNoSpace, err)
		}
	}
	return err
}

// unmap: see Close. MAP_FIXED swaps the pages for the reservation in one
// call, leaving no moment at which the range is free; the reservation has
// no memory and no swap behind it. The cleanup mapPages registered gives
// the range back once f is garbage.
func (f *File) unmap(linger bool) error {
	if linger {
		return nil
	}
	addr, n := unsafe.Pointer(unsafe.SliceData(f.mem)), uintptr(len(f.mem))
	if _, err := unix.MmapPtr(-1, 0, addr, n, unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE); err != nil {
		return fmt.Errorf("shm: retire the mapping of %s: %w", f.path, err)
	}
	return nil
}

// allocate gives the file its size with every page really allocated, so
// that a full tmpfs or an empty huge page pool fails here (ErrNoSpace)
// instead of killing a process with SIGBUS on first touch; allocated says
// whether every page is there. File systems without fallocate get
// ftruncate; populate then reports a shortage.
//
// tmpfs and hugetlbfs give up a fallocate when any signal is pending
// (EINTR), and the Go runtime signals its threads to preempt goroutines
// (SIGURG): a large allocation is tried again until it is not
// interrupted. What it allocated before stays allocated.
func allocate(f *os.File, size int64) (allocated bool, err error) {
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	for errors.Is(err, unix.EINTR) {
		err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	}
	allocated = err == nil
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = f.Truncate(size)
	}
	if err != nil {
		return false, noSpace(fmt.Errorf("allocate size=%d: %w", size, err), err)
	}
	return allocated, nil
}

// Lock takes the lock on byte at through a descriptor of its own, so that
// the lock belongs to its holder alone: a reopening of the file through
// /proc/self/fd, not of its path, so that it lands on this file even after
// its name was removed, or removed and given to a new file.
func (f *File) Lock(at int64) (Lock, error) {
	lf, err := os.OpenFile(procFD(f.f.Fd()), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrPermission) {
		// Mapped through a descriptor another user handed over: the
		// reopening is checked against the file's mode, the mapping was not.
		return Lock{}, fmt.Errorf("shm: reopen for a lock: %w (a role opens the file read-write: its mode, the creator's Options.Mode and Group, must let this user)", err)
	} else if err != nil {
		return Lock{}, fmt.Errorf("shm: reopen for a lock: %w", noProc(err, procDir))
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: at, Len: 1}
	if err := unix.FcntlFlock(lf.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		lf.Close()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
			return Lock{}, ErrHeld
		}
		return Lock{}, fmt.Errorf("shm: lock byte at=%d: %w", at, err)
	}
	f.keep(lf)
	return Lock{f: lf}, nil
}

// Held reports whether an open file description other than f's own (any
// Lock's, this process's included) holds the lock on byte at.
func (f *File) Held(at int64) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Start: at, Len: 1}
	if err := unix.FcntlFlock(f.f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false, fmt.Errorf("shm: probe lock at=%d: %w", at, err)
	}
	return lk.Type != unix.F_UNLCK, nil
}

// noHugePages: the pool had too few free huge pages for err's allocation.
// The error says where the pool is set, which a user who asked for huge
// pages on a machine that reserves none needs first.
func noHugePages(err error) error {
	return fmt.Errorf("%w (vm.nr_hugepages reserves them; HugePages_Free in /proc/meminfo counts the free ones): %w", ErrNoHugePages, err)
}
