//go:build linux

package ring

// memfd rings in one process: no name, sealed, opened from descriptors
// validated as Open validates files, and refused with typed errors where a
// descriptor is not a ring this process should map.

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/internal/shm"
	"github.com/shmring/shmring/layout"
	"golang.org/x/sys/unix"
)

// newMemfdRing creates a memfd ring labelled with a unique name, closed
// when the test ends.
func newMemfdRing(t *testing.T, o Options) *Ring {
	t.Helper()
	o.Memfd = true
	r, err := Create(uniqueName(t), o)
	if err != nil {
		t.Fatalf("Create(%+v) = %v, want a memfd ring", o, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// memfdWith makes a memfd labelled label holding data, with seals added
// (0 for none), closed when the test ends: a file another program could
// hand this process.
func memfdWith(t *testing.T, label string, data []byte, seals int) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate(label, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Skipf("memfd_create: %v", err)
	}
	f := os.NewFile(uintptr(fd), label)
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if seals != 0 {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// openFileMustFail opens the ring behind f and checks that it fails with
// every one of want.
func openFileMustFail(t *testing.T, f *os.File, what string, want ...error) {
	t.Helper()
	r, err := OpenFileWith(f, shortOpen)
	if err == nil {
		r.Close()
		t.Errorf("%s: OpenFile succeeded, want %v", what, want)
		return
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: OpenFile = %v, want %v", what, err, w)
		}
	}
	// The error names the file once (a black-box tester read "ring=|0:
	// descriptor |0: …").
	if n := strings.Count(err.Error(), f.Name()); f.Name() != "" && n > 1 {
		t.Errorf("%s: OpenFile = %q names %q %d times", what, err, f.Name(), n)
	}
}

// descriptorsOf counts this process's descriptors of the memfd labelled
// label: how a leak of a received descriptor shows.
func descriptorsOf(t *testing.T, label string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && link == "/memfd:"+label+" (deleted)" {
			n++
		}
	}
	return n
}

// mustBeSealed checks that f, of size bytes, can be neither shrunk nor
// grown: EPERM. The sizes tried are whole huge pages if size is (hugetlbfs
// refuses any other size with EINVAL before it looks at the seals).
func mustBeSealed(t *testing.T, who string, f *os.File, size int64) {
	t.Helper()
	for _, to := range []int64{0, 2 * size} {
		if err := unix.Ftruncate(int(f.Fd()), to); !errors.Is(err, unix.EPERM) {
			t.Errorf("%s: ftruncate of the memfd from %d to %d bytes = %v, want EPERM (sealed)", who, size, to, err)
		}
	}
}

// TestMemfdRingHasNoNameIsSealedAndCarriesMessages: a memfd ring makes no
// file in /dev/shm, reports its label as Name and no Path, cannot be
// shrunk or grown, carries a message to a second Ring opened from its
// descriptor, and survives its holder closing the descriptor File gave.
func TestMemfdRingHasNoNameIsSealedAndCarriesMessages(t *testing.T) {
	r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	label := r.Name()
	if _, err := os.Lstat("/dev/shm/" + label); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a memfd ring labelled %q left something in /dev/shm: %v", label, err)
	}
	if r.Path() != "" {
		t.Errorf("Path() = %q, want \"\" for a memfd ring", r.Path())
	}
	f := r.File()
	if f == nil {
		t.Fatal("File() = nil for an open memfd ring")
	}
	if r.File() != f {
		t.Error("File() gave a different *os.File on its second call")
	}
	mustBeSealed(t, "the creator", f, int64(r.Header().FileSize))
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if want := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL; err != nil || seals&want != want {
		t.Errorf("F_GET_SEALS = %#x, %v; want %#x among them", seals, err, want)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&0o777 != 0o600 {
		t.Errorf("the memfd's mode = %#o, %v; want 0600 (Options.Mode's default)", st.Mode&0o777, err)
	}

	peer, err := OpenFile(f)
	if err != nil {
		t.Fatalf("OpenFile of the ring's own descriptor: %v", err)
	}
	defer peer.Close()
	if peer.Name() != label || peer.Path() != "" {
		t.Errorf("the opener's Name, Path = %q, %q; want %q, \"\"", peer.Name(), peer.Path(), label)
	}
	f.Close() // the holder's business: the Rings keep descriptors of their own
	if g := r.File(); g == f || g == nil {
		t.Error("File() after its holder closed the last one gave it again (or nil), want a fresh descriptor")
	} else if again, err := OpenFile(g); err != nil {
		t.Errorf("OpenFile of File() after the last one was closed = %v", err)
	} else {
		again.Close()
	}
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := peer.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Producer(); !errors.Is(err, ErrBusy) {
		t.Errorf("a second producer through the opener = %v, want ErrBusy (the role lock is on the memfd)", err)
	}
	passOne(t, p, c, 7, 48)
	r.Close()
	if r.File() != nil {
		t.Error("File() of a closed ring is not nil")
	}
}

// TestMemfdRingPunchedOutIsErrTruncated: no seal forbids punching holes
// in a memfd (fallocate FALLOC_FL_PUNCH_HOLE): its pages then read zero,
// the end mark with them. A consumer polling with TryRecv (which looks at
// the end mark once a tick while it finds nothing, as it probes its peer)
// says ErrTruncated, naming the punch as well as the shrink (the message
// said only "shrunk", from a black-box tester), and delivers nothing.
func TestMemfdRingPunchedOutIsErrTruncated(t *testing.T) {
	r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	p, c := mustProducer(t, r), mustConsumer(t, r)
	if err := p.TrySend([]byte("before the punch")); err != nil {
		t.Fatal(err)
	}
	size := int64(r.Header().FileSize)
	if err := unix.Fallocate(int(r.File().Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, size); err != nil {
		t.Skipf("fallocate PUNCH_HOLE on a memfd: %v (this kernel cannot punch one)", err)
	}
	buf := make([]byte, 64)
	n, err := c.TryRecv(buf)
	for guard := time.Now().Add(HangBound); errors.Is(err, ErrEmpty) && time.Now().Before(guard); n, err = c.TryRecv(buf) {
		time.Sleep(time.Millisecond) // the punch zeroed the cursors too: empty, until the tick's look
	}
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "punched") {
		t.Fatalf("TryRecv after the ring's pages were punched out = %d, %v; want ErrTruncated naming the punch", n, err)
	}
}

// TestMemfdRingNamedFilesAreOpenedFromDescriptorsAsOpenOpensThem: a ring
// file in /dev/shm, handed over as a descriptor, is checked as Open checks
// it (a world-writable one is refused), and File works for it too.
func TestMemfdRingNamedFilesAreOpenedFromDescriptorsAsOpenOpensThem(t *testing.T) {
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	peer, err := OpenFile(r.File())
	if err != nil {
		t.Fatalf("OpenFile of a /dev/shm ring's descriptor: %v", err)
	}
	if peer.Path() != r.Path() || peer.Name() != r.Path() {
		t.Errorf("Path, Name = %q, %q; want the file's path %q for both", peer.Path(), peer.Name(), r.Path())
	}
	peer.Close()
	if err := os.Chmod(r.Path(), 0o666); err != nil {
		t.Fatal(err)
	}
	openFileMustFail(t, r.File(), "a world-writable /dev/shm ring", ErrInsecureMode, ErrUntrusted)
	if peer, err := OpenFileWith(r.File(), OpenOptions{AllowWorldWrite: true}); err != nil {
		t.Errorf("the same with AllowWorldWrite = %v, want it open", err)
	} else {
		peer.Close()
	}
}

// TestMemfdRingOpenFileRefusesWhatIsNoRingItCanTrust: descriptors of things
// that are no file, memfds that are no ring (the bad-input tables of
// badinput_test.go, each written into a sealed memfd), a ring memfd that is
// not sealed against shrinking, and a header that claims more than the
// cap: each its typed error. A memfd's mode is not checked.
func TestMemfdRingOpenFileRefusesWhatIsNoRingItCanTrust(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	good := ringBytes(t, Options{Kind: SPSC, SlotSize: 256, Slots: 16})
	sealed := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	label := uniqueName(t)

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	openFileMustFail(t, pr, "a pipe", ErrNotRegular, ErrUntrusted)
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	openFileMustFail(t, dir, "a directory", ErrNotRegular, ErrUntrusted)
	if _, err := OpenFile(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenFile(nil) = %v, want ErrInvalid", err)
	}
	closed, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	openFileMustFail(t, closed, "a closed *os.File", ErrInvalid, os.ErrClosed)

	for _, tt := range foreignFiles() {
		openFileMustFail(t, memfdWith(t, label, tt.data, sealed), "a sealed memfd of "+tt.name, ErrCorrupt)
	}
	for _, tt := range unreadyFiles(good) {
		openFileMustFail(t, memfdWith(t, label, tt.data, sealed), "a sealed memfd of "+tt.name, ErrNotReady)
	}
	// An empty memfd sealed against growing can never become a ring: no
	// wait for a creator (a tester saw the whole open timeout pass).
	if _, err := OpenFileWith(memfdWith(t, label, nil, sealed), OpenOptions{Timeout: 30 * time.Second}); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "sealed against growing") {
		t.Errorf("OpenFile of an empty memfd sealed against growing = %v, want ErrNotReady saying it can never become a ring", err)
	}
	for _, tt := range shortOrLongFiles(good) {
		openFileMustFail(t, memfdWith(t, label, tt.data, sealed), "a sealed memfd of "+tt.name, ErrCorrupt)
	}
	f := memfdWith(t, label, good, sealed)
	corruptEveryHeaderByte(t, f, good, func(what string, want error) { openFileMustFail(t, f, what, want) })

	for _, seals := range []int{0, unix.F_SEAL_GROW, unix.F_SEAL_SEAL} {
		openFileMustFail(t, memfdWith(t, label, good, seals), "a ring in a memfd with seals="+strconv.Itoa(seals),
			ErrUnsealed, ErrUntrusted)
	}
	for _, seal := range []int{unix.F_SEAL_WRITE, unix.F_SEAL_FUTURE_WRITE} {
		f := memfdWith(t, label, good, sealed&^unix.F_SEAL_SEAL|seal)
		openFileMustFail(t, f, "a ring in a memfd sealed against writing", os.ErrPermission)
		if _, err := OpenFile(f); err == nil || !strings.Contains(err.Error(), "sealed against writing") {
			t.Errorf("OpenFile of a memfd with seals=%#x = %v, want it to say the memfd is sealed against writing", seal, err)
		}
	}
	big := ringBytes(t, Options{Kind: SPSC, SlotSize: 1024, Slots: 1024})
	if r, err := OpenFileWith(memfdWith(t, label, big, sealed), OpenOptions{MaxFileSize: 64 << 10}); err == nil {
		r.Close()
		t.Error("OpenFile of a 1 MiB ring with MaxFileSize 64 KiB succeeded, want ErrFileTooBig")
	} else if !errors.Is(err, ErrFileTooBig) {
		t.Errorf("OpenFile of a 1 MiB ring with MaxFileSize 64 KiB = %v, want ErrFileTooBig", err)
	}

	// A descriptor that cannot both read and write the ring is refused at
	// once with a permission error (a write-only one was taken for an
	// empty file, and waited for its creator for the whole timeout).
	named := newTestRing(t, Options{Kind: SPSC, SlotSize: 256, Slots: 16})
	for _, how := range []struct {
		name string
		flag int
	}{{"write-only", os.O_WRONLY}, {"read-only", os.O_RDONLY}, {"O_PATH", unix.O_PATH}} {
		d, err := os.OpenFile(named.Path(), how.flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		r, err := OpenFileWith(d, OpenOptions{Timeout: time.Second})
		d.Close()
		if err == nil {
			r.Close()
			t.Errorf("OpenFile of a %s descriptor of a ring succeeded, want a permission error", how.name)
		} else if !errors.Is(err, os.ErrPermission) {
			t.Errorf("OpenFile of a %s descriptor of a ring = %v, want a permission error", how.name, err)
		}
	}

	// A memfd made by another program keeps its default mode, 0777: no
	// name to guard, so it is accepted once sealed.
	f = memfdWith(t, label, good, sealed)
	if r, err := OpenFile(f); err != nil {
		t.Errorf("OpenFile of a sealed mode-0777 memfd holding a ring = %v, want it open", err)
	} else {
		r.Close()
	}
}

// TestMemfdRingCreateRefusesBadLabels: a memfd ring's label is 1 to 249
// bytes without NUL (memfd_create(2)); anything else is ErrInvalid. An
// empty name is no label at all: the ring is labelled "shmring".
func TestMemfdRingCreateRefusesBadLabels(t *testing.T) {
	for _, label := range []string{strings.Repeat("x", 250), "nul\x00byte"} {
		if r, err := Create(label, Options{Kind: SPSC, SlotSize: 64, Slots: 8, Memfd: true}); err == nil {
			r.Close()
			t.Errorf("Create(%q, Memfd) succeeded, want ErrInvalid", label)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%q, Memfd) = %v, want ErrInvalid", label, err)
		}
	}
	if r, err := Create("", Options{Kind: SPSC, SlotSize: 64, Slots: 8, Memfd: true}); err != nil {
		t.Errorf("Create(\"\", Memfd) = %v, want a ring labelled %q", err, defaultMemfdLabel)
	} else {
		if r.Name() != defaultMemfdLabel {
			t.Errorf("Create(\"\", Memfd).Name() = %q, want %q", r.Name(), defaultMemfdLabel)
		}
		r.Close()
	}
	// A slash is no path for a memfd: the label is only a label.
	r := newMemfdRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	if r2, err := Create("/dev/shm/"+r.Name(), Options{Kind: SPSC, SlotSize: 64, Slots: 8, Memfd: true}); err != nil {
		t.Errorf("Create of a memfd ring labelled like a path = %v, want a ring", err)
	} else {
		if _, err := os.Lstat("/dev/shm/" + r.Name()); err == nil {
			t.Error("a memfd ring labelled like a path made a file there")
		}
		r2.Close()
	}
}

// TestMemfdRingLargerThanTheMemoryLeftIsErrNoSpace: a memfd counts against
// no file system's size, so a ring larger than the memory the machine (or
// this process's cgroup) has left is refused with ErrNoSpace before a page
// is allocated, rather than allocated until the out-of-memory killer ends
// this process or another.
func TestMemfdRingLargerThanTheMemoryLeftIsErrNoSpace(t *testing.T) {
	left, what, ok := shm.MemoryLeft()
	if !ok {
		t.Skip("this machine says nowhere how much memory is left (no MemAvailable, no cgroup v2 limit): the check has nothing to go by")
	}
	capacity := uint64(layout.MinRecordCapacity)
	for capacity < 2*left {
		capacity *= 2
	}
	if capacity > layout.MaxRecordCapacity || capacity > math.MaxInt {
		t.Skipf("%d bytes left (%s): no record capacity this platform takes is twice that", left, what)
	}
	r, err := Create(uniqueName(t), Options{Kind: SPSC, Records: true, Capacity: int(capacity), Memfd: true})
	if err == nil {
		r.Close()
		t.Fatalf("a memfd ring of %d bytes was created with %d left (%s), want ErrNoSpace", capacity, left, what)
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Create of a memfd ring of %d bytes with %d left (%s) = %v, want ErrNoSpace", capacity, left, what, err)
	}
}

// TestNoProcIsErrUnsupported: where /proc is not mounted, taking a role and
// opening a descriptor fail on their /proc/self/fd path; package shm says
// ErrNoProc, which the ring gives as ErrUnsupported, as the package doc
// says (a tester found it errors.ErrUnsupported only, not the ring's).
func TestNoProcIsErrUnsupported(t *testing.T) {
	err := fileErr("x", fmt.Errorf("shm: reopen for a lock: %w", shm.ErrNoProc), ErrFileTooBig)
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("%v: want ErrUnsupported", err)
	}
}
