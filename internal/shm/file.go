package shm

import (
	"errors"
	"os"
	"sync"
	"unsafe"
)

// File is a ring file: its descriptor and, once mapped, its whole mapping.
// Create returns one mapped; Open one that is checked but not yet mapped,
// so that its opener can read the header (ReadAt) and size it (MapLen)
// before a page is touched.
type File struct {
	f     *os.File
	path  string // "" for a memfd: it has no name in any directory
	label string // what Label reports: the path, or a memfd's name
	memfd bool
	// fixedSize: sealed against growing (F_SEAL_GROW): an empty one stays
	// empty, and no creator is on its way to fill it in.
	fixedSize bool
	mem       []byte // the whole mapping; nil before Map and after Close

	// handout is the descriptor Handout gave out, a dup of f's own so
	// that closing it cannot pull f's from under the locks; Close
	// closes it. Guarded by the caller (package ring holds its mutex).
	handout *os.File

	// locks holds the descriptions of the Locks given out and not yet
	// unlocked. Close closes what is left, so that a role whose taking
	// failed half-way (a fault on a truncated file unwinds past the code
	// that would have let go of its lock) holds nothing once the ring is
	// closed.
	locksMu sync.Mutex
	locks   map[*os.File]struct{}
	dropped bool // Close has closed what locks held
}

// Spec is what Create and CreateMemfd make.
type Spec struct {
	Size uint64      // bytes of content (the file is rounded up to whole huge pages on hugetlbfs)
	Perm os.FileMode // permission bits; 0 means 0600
	GID  int         // group to give the file before Perm; 0 keeps the creator's
	// Huge asks for huge pages: MFD_HUGETLB for a memfd; for a named
	// file, a path on hugetlbfs (ErrNotHuge otherwise). No huge page to
	// be had is ErrNoHugePages.
	Huge bool
}

// Trust says whose files Open accepts.
type Trust struct {
	UIDs            []int // owners besides this process's effective uid
	GIDs            []int // groups that may have write permission
	AllowWorldWrite bool  // accept a file every user may write
	MaxSize         int64 // the largest file accepted (ErrTooBig)
}

// region is an address range this package mapped or reserved.
type region struct {
	addr unsafe.Pointer
	len  uintptr
}

// Mem is the whole file, mapped (nil before Map).
func (f *File) Mem() []byte { return f.mem }

// Path is the file's path, its name resolved; "" for a memfd. For a file
// opened from a descriptor it is what /proc/self/fd says (with " (deleted)"
// after a removed file's path).
func (f *File) Path() string { return f.path }

// Label names the file in messages: its path, or a memfd's name.
func (f *File) Label() string { return f.label }

// Memfd reports whether the file is a memfd (memfd_create(2)).
func (f *File) Memfd() bool { return f.memfd }

// FixedSize reports whether the file is sealed against growing.
func (f *File) FixedSize() bool { return f.fixedSize }

// ReadAt reads the file with pread, never through the mapping: a file
// shorter than what it claims to hold would fault there.
func (f *File) ReadAt(b []byte, off int64) (int, error) { return f.f.ReadAt(b, off) }

// Unlock lets go of a lock Lock took, by closing its descriptor.
func (f *File) Unlock(_ int64, l Lock) error {
	if l.f == nil {
		return nil
	}
	f.locksMu.Lock()
	_, kept := f.locks[l.f]
	delete(f.locks, l.f)
	dropped := f.dropped
	f.locksMu.Unlock()
	if dropped && !kept {
		return nil // the File's Close let go of it: nothing is held
	}
	return l.f.Close() // closing the last descriptor drops the OFD lock
}

// keep records a Lock's description until Unlock or Close.
func (f *File) keep(lf *os.File) {
	f.locksMu.Lock()
	defer f.locksMu.Unlock()
	if f.locks == nil {
		f.locks = make(map[*os.File]struct{})
	}
	f.locks[lf] = struct{}{}
}

// dropLocks closes the description of every Lock not unlocked yet.
func (f *File) dropLocks() {
	f.locksMu.Lock()
	defer f.locksMu.Unlock()
	for lf := range f.locks {
		lf.Close() // os.File: a second Close of one is an error, not a close of a reused descriptor
	}
	f.locks, f.dropped = nil, true
}

// Close unmaps the file and closes its descriptor; the file stays (Remove
// deletes its name). Without linger the address range is not given back:
// the file's pages are swapped for an inaccessible reservation, so a
// goroutine still inside a call faults (a fault the ring's guard catches)
// instead of reading or writing whatever the kernel might later map at the
// same addresses. With linger the file stays mapped, for callers that
// cannot catch a fault: a call racing Close writes into the file instead.
// Either way the range is unmapped once f is garbage, when nothing that
// holds f can reach it any more.
func (f *File) Close(linger bool) error {
	var err error
	if f.mem != nil {
		err = f.unmap(linger)
		f.mem = nil
	}
	if f.handout != nil {
		f.handout.Close() // its holder may have closed it already: nothing to report
		f.handout = nil
	}
	f.dropLocks()
	return errors.Join(err, f.f.Close())
}
