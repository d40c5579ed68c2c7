//go:build linux

package ringstat

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/layout"
)

// OpenTail maps the ring file name names read-only and returns a Tail that
// starts back messages before the newest (0: with the next one published),
// never before the oldest the ring surely still holds. A file that is not
// a sound ring (see Read) is refused with its state and problem.
func OpenTail(name string, back uint64) (*Tail, error) {
	s, err := Read(name)
	if err != nil {
		return nil, err
	}
	if s.State.Broken() {
		return nil, fmt.Errorf("%w: ring %s is %s: %s", badFileErr(s.State), name, s.State, s.Problem)
	}
	fd, err := unix.Open(s.Path, openFlags(s.Path), 0) // as Read opened it: a memfd ring's descriptor link too
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.Path, err)
	}
	defer unix.Close(fd) // the mapping keeps the file
	var hb [layout.HeaderSize]byte
	// The file may change between Read and here: what is wrong with it
	// now is said as Read would (IsTruncated, IsCorrupt).
	n, err := unix.Pread(fd, hb[:], 0)
	switch {
	case err != nil:
		return nil, fmt.Errorf("read the header of %s: %w", s.Path, err)
	case n < len(hb):
		return nil, fmt.Errorf("%w: ring %s is %s: %d bytes, shorter than its header", errTruncatedTail, name, Truncated, n)
	}
	h, err := layout.Decode(hb[:])
	if err != nil {
		return nil, fmt.Errorf("%w: ring %s: %w", errCorruptTail, name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	// Map what the file holds, and never more than the header's size: a
	// ring rounded up to huge pages maps its real size.
	size := uint64(st.Size)
	if size < h.FileSize {
		return nil, fmt.Errorf("%w: ring %s is %s: %d bytes, the header says %d", errTruncatedTail, name, Truncated, size, h.FileSize)
	}
	if size > uint64(maxInt) {
		return nil, fmt.Errorf("ring %s: %d bytes are more than this process can map", name, size)
	}
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s read-only: %w", s.Path, err)
	}
	t, ok := newTail(mem, h, back)
	if !ok {
		unix.Munmap(mem)
		return nil, fmt.Errorf("%w: ring %s is %s: the file was shrunk while it was opened", errTruncatedTail, name, Truncated)
	}
	t.path, t.dev, t.ino = s.Path, st.Dev, st.Ino
	return t, nil
}

// NameMoved says why the name the Tail was opened by no longer leads to
// the file it follows ("" while it does): the ring was removed, or
// another file was made under its name. Nobody new can join the ring a
// following tail watches then; a new ring under the name is another one.
func (t *Tail) NameMoved() string {
	var st unix.Stat_t
	switch err := unix.Stat(t.path, &st); {
	case errors.Is(err, unix.ENOENT):
		return "the ring was removed"
	case err != nil:
		return ""
	case st.Dev != t.dev || st.Ino != t.ino:
		return "another file took its name"
	}
	return ""
}

// badFileErr is the Poll error class (IsTruncated, IsCorrupt) of a broken
// state.
func badFileErr(st State) error {
	if st == Truncated {
		return errTruncatedTail
	}
	return errCorruptTail
}

// Close unmaps the ring.
func (t *Tail) Close() error {
	if t.mem == nil {
		return nil
	}
	err := unix.Munmap(t.mem)
	t.mem, t.w = nil, nil
	return err
}
