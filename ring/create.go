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
// name is taken (by anything, a symbolic link included), ErrInvalid for a
// name or options that describe no ring, ErrNoSpace when the file system
// cannot hold it, and ErrUnsupported off Linux; a failed Create leaves no
// file behind.
//
// A name is either a bare name, whose file is /dev/shm/<name> (no '/', not
// "." or "..", at most 255 bytes), or an absolute path, for a ring on
// another tmpfs or on hugetlbfs (where the file is rounded up to whole huge
// pages). Anything else, a relative path such as "../x" included, is
// ErrInvalid, as is a NUL byte anywhere: a bare name never reaches outside
// /dev/shm, and a relative path would name a different file in a process
// with another working directory. Open and Remove take names the same way.
//
// The file is created with O_EXCL and mode 0600, given o.Group and then
// o.Mode through its descriptor, sized with every page allocated, mapped,
// pre-faulted, given its header, and only then marked ready with one atomic
// store, so an Open racing with Create sees either no ring or a whole one.
func Create(name string, o Options) (r *Ring, err error) {
	if err := supported(); err != nil {
		return nil, err
	}
	hdr, err := o.header()
	if err != nil {
		return nil, err
	}
	if o.Group < 0 {
		return nil, fmt.Errorf("%w: group=%d", ErrInvalid, o.Group)
	}
	path, err := resolve(name)
	if err != nil {
		return nil, err
	}
	f, err := createRingFile(path)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: ring=%s path=%s", ErrExist, name, path)
	}
	if err != nil {
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			removeFile(path)
		}
	}()
	if err := share(f, o); err != nil {
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	size, err := mapSize(f, hdr.FileSize)
	if err != nil {
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	if err := checkMapping(size, maxMapping); err != nil {
		return nil, fmt.Errorf("%w: ring=%s: %w", ErrInvalid, name, err)
	}
	if err := allocate(f, int64(size)); err != nil {
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	mm, err := mapWhole(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	if err := populate(mm); err != nil {
		mm.Unmap()
		return nil, fmt.Errorf("ring: create %s: %w", path, err)
	}
	mem := mm[:hdr.FileSize]
	hdr.CreatorPID = uint32(os.Getpid())
	hdr.CreatedUnixNano = time.Now().UnixNano()
	hdr.Encode(mem)
	initSlots(&hdr, mem)
	binary.LittleEndian.PutUint64(mem[hdr.EndOffset:], layout.EndMark)
	// SYNC POINT: ready. Every header byte is written before this store;
	// Open loads the ready word before it reads the header.
	(*atomic.Uint32)(unsafe.Pointer(&mem[layout.ReadyOffset])).Store(layout.ReadyValue)
	r = &Ring{name: name, path: path, hdr: hdr, mm: mm, f: f, fullFence: o.FullFence, unguarded: o.Unguarded}
	r.setMapping(mem)
	return r, nil
}

// share gives a new file the group and then the mode o asks for, through
// its descriptor, so that no one else can write it at any moment before
// (the umask neither weakens nor widens the mode).
func share(f *os.File, o Options) error {
	if o.Group != 0 {
		if err := f.Chown(-1, o.Group); err != nil {
			return err
		}
	}
	mode := o.Mode.Perm()
	if mode == 0 {
		mode = 0o600
	}
	return f.Chmod(mode)
}

// mapWhole maps the first size bytes of f, shared and writable, and checks
// that the mapping is that long. The caller has checked that size fits an
// int (checkMapping).
func mapWhole(f *os.File, size int) (mmap.MMap, error) {
	mm, err := mmap.MapRegion(f, size, mmap.RDWR, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("map: %w", err)
	}
	if len(mm) != size {
		mm.Unmap()
		return nil, fmt.Errorf("mapped %d bytes, want %d", len(mm), size)
	}
	return mm, nil
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
	if err := checkMapping(hdr.FileSize, maxMapping); err != nil {
		return layout.Header{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return hdr, nil
}

// Remove deletes a ring file's name; it never removes a directory. Processes
// that have the ring mapped keep using it; the memory is freed when the last
// one closes it. A name is checked as Create checks it (ErrInvalid), so a
// bare name never reaches outside /dev/shm.
func Remove(name string) error {
	if err := supported(); err != nil {
		return err
	}
	path, err := resolve(name)
	if err != nil {
		return err
	}
	err = removeFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: ring=%s path=%s", ErrNotExist, name, path)
	}
	return err
}
