package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
)

// Open maps an existing ring with the default OpenOptions: a file this
// process's effective user owns, that no one else may write, of at most
// DefaultMaxFileSize bytes. See OpenWith.
func Open(name string) (*Ring, error) { return OpenWith(name, OpenOptions{}) }

// OpenWith maps an existing ring. Options with a negative Timeout or
// MaxFileSize are ErrInvalid. It checks what sits at the name before it
// reads a byte (each refusal its own error): a symbolic link is ErrSymlink,
// anything but a regular file ErrNotRegular, an owner o does not trust
// ErrForeignOwner, write permission for users o does not trust
// ErrInsecureMode (all four are ErrUntrusted), a file larger than
// o.MaxFileSize ErrFileTooBig. It then waits up to o.Timeout for a creator that
// has not finished the file, validates the header (magic, version, geometry,
// checksum: ErrCorrupt or ErrVersion), checks the header's FileSize against
// the cap and the file's real size, and only then maps and pre-faults it.
// Off Linux it returns ErrUnsupported.
func OpenWith(name string, o OpenOptions) (*Ring, error) {
	if !shm.Supported {
		return nil, ErrUnsupported
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	f, err := shm.Open(name, o.trust())
	if err != nil {
		return nil, fileErr(name, err, ErrFileTooBig)
	}
	return openFile(name, f, o)
}

// check refuses options that mean nothing, before anything is opened (or,
// for RecvRing, taken from the connection).
func (o OpenOptions) check() error {
	if o.Timeout < 0 || o.MaxFileSize < 0 {
		return fmt.Errorf("%w: OpenOptions Timeout=%v MaxFileSize=%d, want zero (the default) or more", ErrInvalid, o.Timeout, o.MaxFileSize)
	}
	return nil
}

func (o OpenOptions) trust() shm.Trust {
	return shm.Trust{UIDs: o.TrustUIDs, GIDs: o.TrustGIDs, AllowWorldWrite: o.AllowWorldWrite, MaxSize: o.maxFileSize()}
}

// openFile validates and maps the ring in f, which OpenWith or OpenFileWith
// checked, or closes f and says why not.
func openFile(name string, f *shm.File, o OpenOptions) (*Ring, error) {
	r, err := mapRing(name, f, o)
	if err != nil {
		f.Close(false)
		return nil, err
	}
	return r, nil
}

func mapRing(name string, f *shm.File, o OpenOptions) (*Ring, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	hdr, err := awaitHeader(f, timeout, f.FixedSize())
	if err != nil {
		return nil, fmt.Errorf("ring: open %s: %w", name, err)
	}
	size, err := checkSize(f, name, hdr, o)
	if err != nil {
		return nil, err
	}
	if err := f.Map(size); err != nil {
		return nil, fileErr(name, err, ErrFileTooBig)
	}
	r := newRing(name, hdr, f, o.FullFence, o.Unguarded)
	if err := r.opened(); err != nil {
		return nil, err
	}
	return r, nil
}

// opened: the mapping's end mark is there, the first load through the
// mapping, guarded (a peer may shrink the file right after checkSize). A
// file shrunk and grown back to its size, or whose mark was overwritten,
// passes every check on its header and size, and would be refused by
// every consumer and reader: Open says so now.
func (r *Ring) opened() (err error) {
	defer r.endGuard(&err, beginGuard())
	return r.shrunk()
}

// checkSize returns how many bytes of f to map for the ring hdr describes,
// once it is sure that is no more than o allows (ErrFileTooBig), no more than
// this process can map (ErrFileTooBig), and exactly the file's real size
// (ErrTruncated for a shorter file, ErrCorrupt for a grown or foreign one).
func checkSize(f *shm.File, name string, hdr layout.Header, o OpenOptions) (int, error) {
	if limit := o.maxFileSize(); hdr.FileSize > uint64(limit) {
		return 0, fmt.Errorf("%w: ring=%s header FileSize=%d, MaxFileSize=%d", ErrFileTooBig, name, hdr.FileSize, limit)
	}
	size, err := f.MapLen(hdr.FileSize)
	return size, fileErr(name, err, ErrFileTooBig)
}

// awaitHeader reads the header with pread, never through a mapping (a file
// shorter than its header would fault), until its creator has marked it
// ready, then validates it. Only an empty file, or a zero ready word over a
// header that is blank or correct so far, is a creator still at work;
// everything else fails at once, and so does an empty file sealed against
// growing (fixedSize: a memfd handed on empty stays so).
func awaitHeader(f io.ReaderAt, timeout time.Duration, fixedSize bool) (layout.Header, error) {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, layout.HeaderSize)
	for delay := 50 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		// SYNC POINT: ready. The ready word is taken from a first read
		// of the header; only once it says ready is the header read
		// again, and that second read decoded and trusted (one read of
		// all 128 bytes could pair a fresh ready word with stale header
		// bytes copied before it).
		n, err := f.ReadAt(buf, 0)
		empty := n == 0 && err == io.EOF
		switch {
		case empty && fixedSize:
			return layout.Header{}, fmt.Errorf("%w: the file is empty and sealed against growing: it can never become a ring", ErrNotReady)
		case empty:
			// Empty: the creator has not sized the file yet.
		case n == 0:
			return layout.Header{}, fmt.Errorf("reading the header: %w", err)
		case n < layout.HeaderSize:
			return layout.Header{}, fmt.Errorf("%w: %w", ErrCorrupt, layout.ErrShort)
		default:
			ready := binary.LittleEndian.Uint32(buf[layout.ReadyOffset:])
			if err := layout.CheckReady(ready); err == nil {
				if _, err := f.ReadAt(buf, 0); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					// Read whole a moment ago: the file shrank under it.
					return layout.Header{}, fmt.Errorf("%w: reading the header again: %w", ErrTruncated, err)
				} else if err != nil {
					return layout.Header{}, fmt.Errorf("%w: reading the header again: %w", ErrCorrupt, err)
				}
				return decode(buf)
			} else if !errors.Is(err, layout.ErrNotReady) {
				return layout.Header{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			if !blankOrMagic(buf) {
				return layout.Header{}, fmt.Errorf("%w: %w", ErrCorrupt, layout.ErrMagic)
			}
		}
		if time.Now().After(deadline) && empty {
			return layout.Header{}, fmt.Errorf("%w: the file stayed empty for %v: its creator died before sizing it, or a peer truncated it to zero", ErrNotReady, timeout)
		}
		if time.Now().After(deadline) {
			return layout.Header{}, fmt.Errorf("%w: waited %v for the creator to finish", ErrNotReady, timeout)
		}
		time.Sleep(delay)
	}
}

func blankOrMagic(b []byte) bool {
	m := string(b[layout.MagicOffset : layout.MagicOffset+layout.MagicSize])
	return m == layout.Magic || m == string(make([]byte, layout.MagicSize))
}

// decode maps layout's findings onto the ring's sentinels: a version this
// code does not read is ErrVersion, every other fault ErrCorrupt; both keep
// layout's own sentinel in the chain.
func decode(b []byte) (layout.Header, error) {
	hdr, err := layout.Decode(b)
	switch {
	case err == nil:
		return hdr, nil
	case errors.Is(err, layout.ErrVersion):
		return hdr, fmt.Errorf("%w: %w", ErrVersion, err)
	}
	return hdr, fmt.Errorf("%w: %w", ErrCorrupt, err)
}
