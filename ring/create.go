package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/edsrzf/mmap-go"
	"github.com/shmring/shmring/layout"
)

// Create makes a new ring file and maps it. It fails with ErrExist if the
// name is taken, ErrInvalid for options that describe no ring, and
// ErrNoSpace when the file system cannot hold it; a failed Create leaves no
// file behind.
//
// The file is created with O_EXCL, sized with every page allocated, mapped,
// pre-faulted, given its header, and only then marked ready with one atomic
// store, so an Open racing with Create sees either no ring or a whole one.
func Create(name string, o Options) (r *Ring, err error) {
	hdr, err := o.header()
	if err != nil {
		return nil, err
	}
	path, err := resolve(name)
	if err != nil {
		return nil, err
	}
	mode := o.Mode.Perm()
	if mode == 0 {
		mode = 0o600
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: ring=%s path=%s", ErrExist, name, path)
	}
	if err != nil {
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	if err := f.Chmod(mode); err != nil { // the umask must not weaken or widen what was asked
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	if err := allocate(f, int64(hdr.FileSize)); err != nil {
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	mm, err := mmap.Map(f, mmap.RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("ring: create %s: map: %w", path, err)
	}
	if err := populate(mm); err != nil {
		mm.Unmap()
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	hdr.CreatorPID = uint32(os.Getpid())
	hdr.CreatedUnixNano = time.Now().UnixNano()
	hdr.Encode(mm)
	initSlots(&hdr, mm)
	binary.LittleEndian.PutUint64(mm[hdr.EndOffset:], layout.EndMark)
	// SYNC POINT: ready. Every header byte is written before this store;
	// Open loads the ready word before it reads the header.
	(*atomic.Uint32)(unsafe.Pointer(&mm[layout.ReadyOffset])).Store(layout.ReadyValue)
	r = &Ring{name: name, path: path, hdr: hdr, mm: mm, f: f}
	r.setMapping(mm)
	return r, nil
}

func (o Options) header() (layout.Header, error) {
	maxC := o.MaxConsumers
	switch o.Kind {
	case SPSC:
		if o.MaxProducers > 1 || o.MaxConsumers > 1 || o.MaxReaders != 0 {
			return layout.Header{}, fmt.Errorf("%w: spsc takes one producer and one consumer", ErrInvalid)
		}
	case MPMC, MPSC:
		if o.MaxReaders != 0 {
			return layout.Header{}, fmt.Errorf("%w: MaxReaders is for broadcast rings", ErrInvalid)
		}
	case Broadcast:
		if o.MaxProducers > 1 || o.MaxConsumers != 0 {
			return layout.Header{}, fmt.Errorf("%w: a broadcast ring has one producer and MaxReaders readers", ErrInvalid)
		}
		maxC = o.MaxReaders
	default:
		return layout.Header{}, fmt.Errorf("%w: kind=%v not supported", ErrInvalid, o.Kind)
	}
	if o.MaxProducers < 0 || o.MaxProducers > layout.MaxParticipants || maxC < 0 || maxC > layout.MaxParticipants {
		return layout.Header{}, fmt.Errorf("%w: max producers=%d consumers/readers=%d", ErrInvalid, o.MaxProducers, maxC)
	}
	if o.SlotSize <= 0 || o.SlotSize > layout.MaxSlotSize {
		return layout.Header{}, fmt.Errorf("%w: slot size=%d, want 1..%d", ErrInvalid, o.SlotSize, layout.MaxSlotSize)
	}
	if o.Slots <= 0 || o.Slots&(o.Slots-1) != 0 || uint64(o.Slots) > layout.MaxSlotCount {
		return layout.Header{}, fmt.Errorf("%w: slots=%d, want a power of two", ErrInvalid, o.Slots)
	}
	hdr, err := layout.NewHeaderFor(layout.Params{Kind: o.Kind, SlotSize: uint32(o.SlotSize), SlotCount: uint64(o.Slots),
		MaxProducers: uint32(o.MaxProducers), MaxConsumers: uint32(maxC)})
	if err != nil {
		return layout.Header{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return hdr, nil
}

// Remove deletes a ring file. Processes that have it mapped keep using it;
// the memory is freed when the last one closes it.
func Remove(name string) error {
	path, err := resolve(name)
	if err != nil {
		return err
	}
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: ring=%s path=%s", ErrNotExist, name, path)
	}
	return err
}

// Open maps an existing ring, waiting up to DefaultOpenTimeout for a creator
// that has not finished it yet, then validating everything: magic, version,
// geometry, checksum and the file's size.
func Open(name string) (*Ring, error) { return OpenWith(name, OpenOptions{}) }

// OpenWith is Open with options.
func OpenWith(name string, o OpenOptions) (*Ring, error) {
	path, err := resolve(name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: ring=%s path=%s", ErrNotExist, name, path)
	}
	if err != nil {
		return nil, fmt.Errorf("ring: open %s: %w", path, err)
	}
	r, err := openFile(name, path, f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func openFile(name, path string, f *os.File, o OpenOptions) (*Ring, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	hdr, err := awaitHeader(f, timeout)
	if err != nil {
		return nil, fmt.Errorf("ring: open %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("ring: open %s: %w", path, err)
	}
	if uint64(st.Size()) < hdr.FileSize {
		return nil, fmt.Errorf("%w: ring=%s: file size=%d, header says %d", ErrTruncated, name, st.Size(), hdr.FileSize)
	}
	if uint64(st.Size()) != hdr.FileSize {
		return nil, fmt.Errorf("%w: ring=%s: file size=%d, header says %d (a foreign file)", ErrCorrupt, name, st.Size(), hdr.FileSize)
	}
	mm, err := mmap.Map(f, mmap.RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("ring: open %s: map: %w", path, err)
	}
	if uint64(len(mm)) != hdr.FileSize {
		mm.Unmap()
		return nil, fmt.Errorf("%w: ring=%s: mapped %d bytes, want %d", ErrCorrupt, name, len(mm), hdr.FileSize)
	}
	if err := populate(mm); err != nil {
		mm.Unmap()
		return nil, fmt.Errorf("ring: open %s: %w", path, err)
	}
	r := &Ring{name: name, path: path, hdr: hdr, mm: mm, f: f}
	r.setMapping(mm)
	return r, nil
}

// awaitHeader reads the header with pread, never through a mapping (a file
// shorter than its header would fault), until its creator has marked it
// ready, then validates it. Only an empty file, or a zero ready word over a
// header that is blank or correct so far, is a creator still at work;
// everything else fails at once.
func awaitHeader(f *os.File, timeout time.Duration) (layout.Header, error) {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, layout.HeaderSize)
	empty := false
	for delay := 50 * time.Microsecond; ; delay = min(2*delay, 10*time.Millisecond) {
		// SYNC POINT: ready. The ready word is read on its own, first;
		// only once it says ready is the header read again and trusted
		// (one read of all 128 bytes could pair a fresh ready word with
		// stale header bytes copied before it).
		n, err := f.ReadAt(buf, 0)
		switch {
		case n == 0 && err != nil:
			// Empty: the creator has not sized the file yet.
			empty = true
		case n < layout.HeaderSize:
			return layout.Header{}, fmt.Errorf("%w: %w", ErrCorrupt, layout.ErrShort)
		default:
			ready := binary.LittleEndian.Uint32(buf[layout.ReadyOffset:])
			if err := layout.CheckReady(ready); err == nil {
				if _, err := f.ReadAt(buf, 0); err != nil {
					return layout.Header{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
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
