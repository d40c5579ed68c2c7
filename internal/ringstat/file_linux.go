//go:build linux

package ringstat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
)

// hugetlbfsMagic is statfs's f_type for hugetlbfs, whose files are sized
// in whole huge pages (LAYOUT.md section 6).
const hugetlbfsMagic = 0x958458f6

// procFD matches a process's descriptor link, /proc/PID/fd/N (or
// /proc/self/fd/N): how a memfd ring is reached from outside.
var procFD = regexp.MustCompile(`^/proc/(self|[0-9]+)/fd/[0-9]+$`)

// rereads is how many times a live ring whose words break an invariant is
// read again before it is called corrupt: its holders move the words
// between the loads of one read.
const rereads = 3

// Read reads the ring file name names (see Resolve) and says what it holds.
// The error is non-nil only when there is nothing to judge: an invalid name
// or no file (fs.ErrNotExist); a file that is not a sound ring comes back
// as a Snapshot whose State says so.
func Read(name string) (Snapshot, error) {
	path, err := Resolve(name)
	if err != nil {
		return Snapshot{Name: name}, err
	}
	return ReadPath(name, path)
}

// ReadPath is Read for a path already resolved; name labels the result.
func ReadPath(name, path string) (Snapshot, error) {
	return readPath(name, path, &openFiles{})
}

// readPath is ReadPath with the open files of a List, which scans /proc
// once for all its rings.
func readPath(name, path string, open *openFiles) (Snapshot, error) {
	s := Snapshot{Name: name, Path: path}
	fd, err := unix.Open(path, openFlags(path), 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return s, &os.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	case errors.Is(err, unix.ELOOP):
		s.verdict(NotARing, "a symbolic link (rings are never opened through one)")
		return s, nil
	case err != nil:
		// A socket (ENXIO) cannot be opened at all; say what it is.
		var st unix.Stat_t
		if unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
			s.verdict(NotARing, "a "+shm.FileType(st.Mode)+", not a regular file")
		} else {
			// stat(2) needs no right to read the file: its size and age
			// are known even so, what holds it and what it holds are not.
			if st.Mode&unix.S_IFMT == unix.S_IFREG {
				s.FileSize, s.Modified = st.Size, time.Unix(st.Mtim.Unix())
			}
			s.verdict(Unreadable, fmt.Sprintf("open: %v", err))
		}
		return s, nil
	}
	defer unix.Close(fd)
	r := fileReader{fd: fd, s: &s, open: open}
	r.read()
	return s, nil
}

// openFlags are the flags a ring file is opened read-only with: never
// through a symbolic link, but for a holder's descriptor link.
func openFlags(path string) int {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
	if procFD.MatchString(path) {
		// A memfd ring has no name: an operator reaches it through a
		// holder's descriptor, /proc/PID/fd/N, a link the kernel resolves
		// to the open file itself (no path is looked up again), as
		// ring.OpenFile maps it.
		flags &^= unix.O_NOFOLLOW
	}
	return flags
}

// afterHeldProbe is where a test takes a role just after the whole file's
// lock probe; nothing otherwise.
var afterHeldProbe = func() {}

// fileReader reads one ring file through its read-only descriptor.
type fileReader struct {
	fd   int
	s    *Snapshot
	open *openFiles
}

func (r *fileReader) read() {
	s := r.s
	var st unix.Stat_t
	if err := unix.Fstat(r.fd, &st); err != nil {
		s.verdict(Unreadable, fmt.Sprintf("fstat: %v", err))
		return
	}
	s.FileSize, s.Modified = st.Size, time.Unix(st.Mtim.Unix())
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		s.verdict(NotARing, "a "+shm.FileType(st.Mode)+", not a regular file")
		return
	}
	// Before anything of the contents: a lock is the kernel's, so a file
	// whose header or size is broken is still known to be held (a
	// truncated ring its processes still have mapped, say).
	s.Held, s.heldKnown = r.held(0, 0), true
	afterHeldProbe()
	h, ok := r.header()
	if !ok {
		return
	}
	s.CreatorAlive = shm.ProcessAlive(h.CreatorPID)
	if !s.Held && !s.CreatorAlive {
		s.OpenElsewhere = r.open.participant(&st)
	}
	if !checkSize(s, r.realSize(&h)) || !r.endIntact(&h) {
		return
	}
	if h.EndOffset > uint64(maxInt) {
		s.verdict(Unreadable, "a file too large to map in this process")
		return
	}
	// The control area and the counter area, with the slots between them:
	// a read-only mapping costs no memory for pages never touched.
	mem, err := unix.Mmap(r.fd, 0, int(h.EndOffset), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		s.verdict(Unreadable, fmt.Sprintf("map the control area: %v", err))
		return
	}
	defer unix.Munmap(mem)
	// Each role's byte is probed on its own, whatever the whole file's
	// probe found: a role may have been taken since (a reader that leaves
	// and rejoins in a loop is unheld for a moment), and a role seen
	// attached whose lock went unasked would be taken for dead.
	held := func(at int64) bool {
		if !r.held(at, 1) {
			return false
		}
		s.Held = true
		return true
	}
	problem := ""
	for try := 0; try < rereads; try++ {
		if try > 0 {
			time.Sleep(time.Millisecond)
		}
		if guarded(mem, func() { problem = interpret(s, &h, mappedWords(mem), held) }) {
			s.verdict(Truncated, "the file was shrunk while it was read")
			return
		}
		if problem == "" || !s.Held {
			break
		}
	}
	s.positions = true // read whole, even if a value in them is wrong
	if problem != "" {
		s.verdict(Corrupt, problem)
		return
	}
	if !r.endIntact(&h) {
		return
	}
	if !s.Held && deadHolder(s) {
		s.participantElsewhere = r.open.participant(&st)
	}
	judge(s, h.Kind)
}

// header reads and validates the header as an opener does (LAYOUT.md
// section 6): the ready word first, then the header bytes again, since one
// pread copies the ready word last and what is validated must have been
// written before the ready word was.
func (r *fileReader) header() (layout.Header, bool) {
	var b [layout.HeaderSize]byte
	n, err := unix.Pread(r.fd, b[:], 0)
	if err != nil {
		r.s.verdict(Unreadable, fmt.Sprintf("read the header: %v", err))
		return layout.Header{}, false
	}
	if !preCheck(r.s, b[:max(n, 0)]) {
		return layout.Header{}, false
	}
	if n, err = unix.Pread(r.fd, b[:], 0); err != nil || n < len(b) {
		r.s.verdict(Truncated, fmt.Sprintf("the header could not be read again (%d bytes, %v)", n, err))
		return layout.Header{}, false
	}
	return decode(r.s, b[:])
}

// realSize is the size the file must have: FileSize, rounded up to whole
// huge pages on hugetlbfs, as an opener computes it.
func (r *fileReader) realSize(h *layout.Header) uint64 {
	want := h.FileSize
	var fs unix.Statfs_t
	if unix.Fstatfs(r.fd, &fs) == nil && uint32(fs.Type) == hugetlbfsMagic && fs.Bsize > 0 {
		page := uint64(fs.Bsize)
		want = (want + page - 1) / page * page
	}
	return want
}

// endIntact reads the end unit's mark and checks it.
func (r *fileReader) endIntact(h *layout.Header) bool {
	var b [8]byte
	if n, err := unix.Pread(r.fd, b[:], int64(h.EndOffset)); err != nil || n < len(b) {
		r.s.verdict(Truncated, fmt.Sprintf("the end unit at %d could not be read (%d bytes, %v)", h.EndOffset, n, err))
		return false
	}
	return checkEnd(r.s, h, binary.LittleEndian.Uint64(b[:]))
}

// held reports whether another open file description holds a lock on
// [at, at+n) (n = 0: to the end of the file): whether the role whose lock
// byte that is has a live holder. Ours holds none, so any lock reported
// is someone else's. F_OFD_GETLK only asks; a probe that fails says
// "not held" and the caller's state says what it could see.
func (r *fileReader) held(at, n int64) bool { return lockHeld(r.fd, at, n) }

func lockHeld(fd int, at, n int64) bool {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: at, Len: n}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != unix.F_UNLCK
}

const maxInt = int(^uint(0) >> 1)
