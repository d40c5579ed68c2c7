package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
)

// Create makes a new ring file and maps it. It fails with ErrExist if the
// name is taken (by anything, a symbolic link included), ErrInvalid for a
// name or options that describe no ring, ErrNoSpace when the file system
// cannot hold it, ErrNotExist (also fs.ErrNotExist) where the directory of
// a path is not there, an error that is fs.ErrPermission where the caller
// may not write the directory or it is on a read-only file system, and
// ErrUnsupported off Linux; a failed Create leaves no file behind.
//
// A name is either a bare name, whose file is /dev/shm/<name> (no '/', not
// "." or "..", at most 255 bytes), or an absolute path, for a ring on
// another tmpfs or on hugetlbfs (where the file is rounded up to whole huge
// pages; elements of at most 255 bytes, no trailing slash). A path on a
// disk file system works too, but the kernel writes the ring's pages back
// to the disk from time to time: it is for tmpfs. Anything else, a
// relative path such as "../x" included, is
// ErrInvalid, as is a NUL byte anywhere: a bare name never reaches outside
// /dev/shm, and a relative path would name a different file in a process
// with another working directory. Open and Remove take names the same way.
//
// The file is created with O_EXCL and mode 0600, given o.Group and then
// o.Mode through its descriptor, sized with every page allocated, mapped,
// pre-faulted, given its header, and only then marked ready with one atomic
// store, so an Open racing with Create sees either no ring or a whole one.
//
// With o.Memfd the ring is a memfd instead (memfd.go): name is only its
// label ("shmring" when empty), and no file is made at any name.
func Create(name string, o Options) (*Ring, error) {
	if !shm.Supported {
		return nil, ErrUnsupported
	}
	hdr, err := o.header()
	if err != nil {
		return nil, err
	}
	if o.Group < 0 {
		return nil, fmt.Errorf("%w: group=%d", ErrInvalid, o.Group)
	}
	spec := shm.Spec{Size: hdr.FileSize, Perm: o.Mode, GID: o.Group, Huge: o.HugePages}
	var f *shm.File
	if o.Memfd {
		if name == "" {
			name = defaultMemfdLabel
		}
		f, err = shm.CreateMemfd(name, spec)
	} else {
		f, err = shm.Create(name, spec)
	}
	if err != nil {
		return nil, fileErr(name, err, ErrInvalid)
	}
	hdr.CreatorPID = uint32(os.Getpid())
	hdr.CreatedUnixNano = time.Now().UnixNano()
	initialize(&hdr, f.Mem())
	return newRing(name, hdr, f, o.FullFence, o.Unguarded), nil
}

// initialize writes a new ring's header, slots and end mark into mem, and
// only then marks it ready with one atomic store.
func initialize(hdr *layout.Header, mem []byte) {
	hdr.Encode(mem)
	initSlots(hdr, mem)
	binary.LittleEndian.PutUint64(mem[hdr.EndOffset:], layout.EndMark)
	// SYNC POINT: ready. Every header byte is written before this store;
	// Open loads the ready word before it reads the header.
	(*atomic.Uint32)(unsafe.Pointer(&mem[layout.ReadyOffset])).Store(layout.ReadyValue)
}

// newRing makes the Ring over seg, whose memory holds the ring hdr
// describes (checked by Open, or just written).
func newRing(name string, hdr layout.Header, seg shm.Segment, fullFence, unguarded bool) *Ring {
	r := &Ring{name: name, hdr: hdr, seg: seg, fullFence: fullFence, unguarded: unguarded}
	r.setMapping(seg.Mem()[:hdr.FileSize])
	return r
}

func (o Options) header() (layout.Header, error) {
	if err := o.checkRecords(); err != nil {
		return layout.Header{}, err
	}
	if o.Mode&^0o666 != 0 || o.Mode != 0 && o.Mode&0o600 != 0o600 { // the creator's own roles open it for reading and writing
		return layout.Header{}, fmt.Errorf("%w: Mode=%v: a ring file takes read and write permission bits only, its owner's both (0600, 0660, 0666)", ErrInvalid, o.Mode)
	}
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
	size, count := o.SlotSize, o.Slots
	if o.Records {
		size, count = o.recordGeometry()
	}
	if size <= 0 || size > layout.MaxSlotSize {
		return layout.Header{}, fmt.Errorf("%w: slot size=%d, want 1..%d", ErrInvalid, size, layout.MaxSlotSize)
	}
	if count <= 0 || count&(count-1) != 0 || (!o.Records && uint64(count) > layout.MaxSlotCount) {
		return layout.Header{}, fmt.Errorf("%w: slots=%d, want a power of two in 1..%d", ErrInvalid, count, uint64(layout.MaxSlotCount))
	}
	tele, err := o.Telemetry.layout()
	if err != nil {
		return layout.Header{}, err
	}
	hdr, err := layout.NewHeaderFor(layout.Params{Kind: o.Kind, SlotSize: uint32(size), SlotCount: uint64(count),
		MaxProducers: uint32(o.MaxProducers), MaxConsumers: uint32(maxC), Records: o.Records, Telemetry: tele})
	if err != nil {
		return layout.Header{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := shm.Mappable(hdr.FileSize); err != nil {
		return layout.Header{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return hdr, nil
}

// Remove deletes a ring file's name. Processes that have the ring mapped
// keep using it; the memory is freed when the last one closes it. A name is
// checked as Create checks it (ErrInvalid), so a bare name never reaches
// outside /dev/shm.
//
// It removes only what may be a ring, and opens nothing else: a file that
// starts with the ring's magic, or what a Create that died leaves on tmpfs
// or hugetlbfs (an empty file, or one whose first page is all zero; a
// Create still in progress leaves the same). A symbolic link is removed
// itself, never what it leads to. Anything else stays: a file of other
// data (ErrCorrupt: it is no ring), a directory, device, FIFO or socket
// (ErrNotRegular), a file this user may not read (a permission error), a
// name given to another file while Remove looked (ErrExist). A ring whose
// header a peer scribbled over is no longer recognised: remove it with
// os.Remove, or ringctl rm --force.
func Remove(name string) error { return fileErr(name, shm.Remove(name), ErrInvalid) }

// fileErrs gives each error of package shm the ring's sentinel for it.
var fileErrs = []struct{ shm, ring error }{
	{shm.ErrName, ErrInvalid},
	{shm.ErrExist, ErrExist},
	{shm.ErrNotExist, ErrNotExist},
	{shm.ErrSymlink, ErrSymlink},
	{shm.ErrNotRegular, ErrNotRegular},
	{shm.ErrForeignOwner, ErrForeignOwner},
	{shm.ErrInsecureMode, ErrInsecureMode},
	{shm.ErrNoHugePages, ErrNoHugePages}, // before ErrNoSpace, which it also is
	{shm.ErrNoSpace, ErrNoSpace},
	{shm.ErrNotHuge, ErrInvalid},
	{shm.ErrUnsealed, ErrUnsealed},
	{shm.ErrHandoff, ErrHandoff},
	{shm.ErrShort, ErrTruncated},
	{shm.ErrNotRing, ErrCorrupt},
	{shm.ErrSize, ErrCorrupt},
	{shm.ErrUnsupported, ErrUnsupported},
	{shm.ErrNoProc, ErrUnsupported},
}

// fileErr wraps an error of package shm (nil stays nil) in the ring's
// sentinel for it, with the ring's name. A file too big to map is tooBig:
// ErrInvalid for Create (the options asked for it), ErrFileTooBig for Open.
func fileErr(name string, err, tooBig error) error {
	if err == nil {
		return nil
	} else if errors.Is(err, shm.ErrTooBig) {
		return fmt.Errorf("%w: ring=%s: %w", tooBig, name, err)
	}
	for _, e := range fileErrs {
		if errors.Is(err, e.shm) {
			return fmt.Errorf("%w: ring=%s: %w", e.ring, name, err)
		}
	}
	return fmt.Errorf("ring: ring=%s: %w", name, err)
}
