package shm

import (
	"errors"
	"os"
)

// noProcError is ErrNoProc: errors.ErrUnsupported without its words.
type noProcError struct{}

func (noProcError) Error() string        { return "shm: /proc is not mounted here" }
func (noProcError) Is(target error) bool { return target == errors.ErrUnsupported }

// Segment is the memory a ring lives in, and the liveness locks on it.
type Segment interface {
	// Mem is the whole segment. For a File it is the whole mapping, which
	// on hugetlbfs runs past the size asked for, to a whole huge page.
	Mem() []byte
	// Path is the file's path; "" for a Heap.
	Path() string
	// Lock takes the liveness lock on byte at, or reports ErrHeld when a
	// live holder, this process included, has it.
	Lock(at int64) (Lock, error)
	// Unlock drops a lock that Lock(at) took.
	Unlock(at int64, l Lock) error
	// Held reports whether a live holder, this process included, has the
	// lock on byte at. For a File it is a system call.
	Held(at int64) (bool, error)
	// Close lets go of the segment's memory and file. With linger a File
	// stays mapped until it is garbage, for callers that cannot catch the
	// fault that touching a closed File raises (see File.Close).
	Close(linger bool) error
}

// Lock is a held liveness lock. For a File it is an open file description
// of its own, whose write lock on one byte the kernel drops when the last
// descriptor closes, the holder's death included; a Heap remembers its
// locks itself.
type Lock struct{ f *os.File }

// Errors, each a refusal of its own; package ring maps each to its
// exported sentinel.
var (
	ErrName         = errors.New("shm: invalid name")
	ErrExist        = errors.New("shm: file exists")
	ErrNotExist     = errors.New("shm: no such file")
	ErrSymlink      = errors.New("shm: symbolic link at the name")
	ErrNotRegular   = errors.New("shm: not a regular file")
	ErrForeignOwner = errors.New("shm: owner not trusted")
	ErrInsecureMode = errors.New("shm: writable by users not trusted")
	ErrTooBig       = errors.New("shm: file too big")
	ErrNoSpace      = errors.New("shm: no space")
	ErrShort        = errors.New("shm: file shorter than its header says")
	ErrNotRing      = errors.New("shm: not a ring file")
	ErrSize         = errors.New("shm: file size differs from its header's")
	ErrHeld         = errors.New("shm: lock held by a live holder")
	ErrUnsupported  = errors.New("shm: shared-memory rings need Linux")
)

var (
	_ Segment = (*File)(nil)
	_ Segment = (*Heap)(nil)
)

// Errors of memfds, huge pages and descriptor passing.
var (
	ErrUnsealed    = errors.New("shm: memfd not sealed against shrinking")
	ErrNotHuge     = errors.New("shm: huge pages asked for, file not on hugetlbfs")
	ErrNoHugePages = errors.New("shm: no huge pages available")
	ErrHandoff     = errors.New("shm: message is not one descriptor handed off")
	// ErrNoProc: /proc is not mounted, and a ring's roles and handed-over
	// descriptors are reached through /proc/self/fd; the system cannot do
	// what a ring needs (it is errors.ErrUnsupported).
	ErrNoProc error = noProcError{}
)
