package ring

// Rings in memfds, and rings opened from descriptors.
//
// Options.Memfd makes a ring with no name: an anonymous memory file
// (memfd_create(2)), sealed against shrinking and growing, reached only
// through descriptors. Its creator hands it to other processes as an
// inherited descriptor (Ring.File in exec.Cmd.ExtraFiles) or over a unix
// socket (SendRing); they map it with OpenFile or RecvRing. Nothing can
// squat, plant or leave behind a name, nothing counts against /dev/shm's
// size (a container's 64 MiB default holds no 4K video ring), and no peer
// can truncate it: ftruncate on it fails with EPERM.
//
// Lifetime: a memfd ring's memory is freed when the last descriptor of it
// is closed and the last mapping unmapped, in every process: each Ring's
// Close, every File a holder kept, every copy still in flight on a socket.
// There is nothing to Remove, and Remove must not be given its label: that
// names a file in /dev/shm.

import (
	"errors"
	"fmt"
	"os"

	"github.com/shmring/shmring/internal/shm"
)

// File is a descriptor of the ring's file, to pass to another process:
// in exec.Cmd.ExtraFiles, to SendRing, to a unix socket of the caller's.
// It works for a named ring as for a memfd ring. The Ring owns it and
// closes it in Close; it is a duplicate of the Ring's own descriptor, made
// on the first call and given again by later ones, so a caller that closes
// it (by mistake, or because it has passed it on) takes nothing from the
// Ring, and the next call gives a fresh duplicate. nil once the Ring is
// closed, or if no descriptor was left to duplicate.
func (r *Ring) File() *os.File {
	if r.missing() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.seg.(*shm.File)
	if r.closed || !ok {
		return nil
	}
	return f.Handout()
}

// OpenFile maps the ring behind an inherited or received descriptor with the
// default OpenOptions; see OpenFileWith.
func OpenFile(f *os.File) (*Ring, error) { return OpenFileWith(f, OpenOptions{}) }

// OpenFileWith maps the ring behind f (open for reading and writing, as
// Ring.File's and RecvRing's descriptors are; a read-only one fails to map
// with a permission error), validating it exactly as OpenWith
// validates a file at a name: the checks on the file (regular, owner, size
// cap; each refusal its own error, all ErrUntrusted), the wait for a
// creator that has not finished, the header, and the header's size against
// the cap and the file's real size. Two rules differ for a memfd, which has
// no name: its mode is not checked (mode bits guard a name; a memfd is
// reached only through descriptors its holders hand out), and it must be
// sealed against shrinking (ErrUnsealed otherwise), since any holder could
// cut its pages from under the mapping. Growing is not refused (it harms
// no mapping), but a memfd another creator left unsealed against it can be
// grown by any holder, and every later OpenFile then refuses it as
// ErrCorrupt (its size no longer the header's); Create seals both. Any other file, a ring file in
// /dev/shm say, is checked exactly as Open checks it.
//
// The Ring keeps a duplicate of f's descriptor: f stays the caller's to
// close, at once if it likes. A nil or closed f, or one whose descriptor
// was closed under it, is ErrInvalid. Name is a memfd's label (what its creator
// gave Create) or the file's path; Path is "" for a memfd. Roles, liveness
// and peer death work as for a ring opened by name.
func OpenFileWith(f *os.File, o OpenOptions) (*Ring, error) {
	if !shm.Supported {
		return nil, ErrUnsupported
	}
	if f == nil {
		return nil, fmt.Errorf("%w: OpenFile of a nil *os.File", ErrInvalid)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	sf, err := shm.OpenFD(f, o.trust())
	if errors.Is(err, os.ErrClosed) {
		return nil, fmt.Errorf("%w: OpenFile of a closed *os.File: %w", ErrInvalid, err)
	} else if err != nil {
		return nil, fileErr(f.Name(), err, ErrFileTooBig)
	}
	return openFile(sf.Label(), sf, o)
}

// defaultMemfdLabel labels a memfd ring created with an empty name: a
// ring that lives only as a descriptor needs no name, but memfd_create
// shows a label in /proc/<pid>/fd, and Name and every error report one.
const defaultMemfdLabel = "shmring"
