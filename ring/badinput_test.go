//go:build linux

package ring

// Bad input: every way a file, an option, a message or another process's
// scribbling can be wrong gets its own error, never a panic or a hang, and
// a failed Create leaves no file behind.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
	"golang.org/x/sys/unix"
)

// shortOpen bounds Open's wait for a creator in tests whose files are never
// finished: long enough for any file that is ready to be read.
var shortOpen = OpenOptions{Timeout: 50 * time.Millisecond}

// shmFile writes data as a file in /dev/shm under a unique ring name, which
// it removes when the test ends.
func shmFile(t *testing.T, data []byte) string {
	t.Helper()
	name := uniqueName(t)
	path := filepath.Join("/dev/shm", name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return name
}

// ringBytes creates a real ring file and returns its bytes.
func ringBytes(t *testing.T, o Options) []byte {
	t.Helper()
	r := newTestRing(t, o)
	b, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openMustFail opens name and checks that it fails with want; a ring it
// opens by mistake is closed.
func openMustFail(t *testing.T, name string, want error, what string) {
	t.Helper()
	r, err := OpenWith(name, shortOpen)
	if err == nil {
		r.Close()
		t.Errorf("%s: Open succeeded, want %v", what, want)
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: Open = %v, want %v", what, err, want)
	}
}

func TestBadInputOpenOfAMissingNameIsErrNotExist(t *testing.T) {
	for _, name := range []string{uniqueName(t), filepath.Join(t.TempDir(), "no-such-ring")} {
		if _, err := Open(name); !errors.Is(err, ErrNotExist) {
			t.Errorf("Open(%q) = %v, want ErrNotExist", name, err)
		}
		if err := Remove(name); !errors.Is(err, ErrNotExist) {
			t.Errorf("Remove(%q) = %v, want ErrNotExist", name, err)
		}
	}
	// Create in a directory that is not there: ErrNotExist too, as Open
	// of the same path says (it said only fs.ErrNotExist; a black-box
	// tester).
	path := filepath.Join(t.TempDir(), "no-such-dir", "r")
	if _, err := Create(path, Options{Kind: SPSC, SlotSize: 64, Slots: 8}); !errors.Is(err, ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Create(%q) = %v, want ErrNotExist and fs.ErrNotExist", path, err)
	}
}

// badFile is a file's bytes that Open must refuse, and what it is.
type badFile struct {
	name string
	data []byte
}

// foreignFiles are files that are no ring at all (ErrCorrupt).
func foreignFiles() []badFile {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	notReadyForeign := random(4096) // ready word zero, but no magic: not a ring being built
	binary.LittleEndian.PutUint32(notReadyForeign[layout.ReadyOffset:], 0)
	return []badFile{
		{"4 KiB of random bytes", random(4096)},
		{"one random byte", random(1)},
		{"random bytes shorter than a header", random(layout.HeaderSize - 1)},
		{"random bytes with a zero ready word", notReadyForeign},
		{"a text file", []byte("this is not a ring, but a file of words, quite long enough to hold a header of one hundred and twenty-eight bytes\n")},
	}
}

func TestBadInputOpenOfAForeignFileIsErrCorrupt(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, tt := range foreignFiles() {
		t.Run(tt.name, func(t *testing.T) {
			openMustFail(t, shmFile(t, tt.data), ErrCorrupt, tt.name)
		})
	}
}

// unreadyFiles are files whose creator never finished (ErrNotReady); real
// is a whole ring's bytes.
func unreadyFiles(real []byte) []badFile {
	unready := bytes.Clone(real) // a creator that died before its last store
	binary.LittleEndian.PutUint32(unready[layout.ReadyOffset:], 0)
	return []badFile{
		{"an empty file", nil},
		{"a file of zeros", make([]byte, len(real))},
		{"a whole header without its ready word", unready},
	}
}

func TestBadInputAFileThatNeverBecomesReadyIsErrNotReady(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, tt := range unreadyFiles(ringBytes(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})) {
		t.Run(tt.name, func(t *testing.T) {
			openMustFail(t, shmFile(t, tt.data), ErrNotReady, tt.name)
		})
	}
}

// TestBadInputEverySingleByteCorruptionOfTheHeaderIsRefused flips each bit,
// the top bit and all bits of every header byte of a real ring file in
// turn: Open refuses each copy, with ErrVersion for the version field and
// ErrCorrupt for everything else.
func TestBadInputEverySingleByteCorruptionOfTheHeaderIsRefused(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	good := ringBytes(t, Options{Kind: SPSC, SlotSize: 256, Slots: 16})
	name := shmFile(t, good)
	if r, err := OpenWith(name, shortOpen); err != nil {
		t.Fatalf("Open of an intact copy = %v, want it open", err)
	} else {
		r.Close()
	}
	path := filepath.Join("/dev/shm", name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	corruptEveryHeaderByte(t, f, good, func(what string, want error) { openMustFail(t, name, want, what) })
}

// corruptEveryHeaderByte writes into f, a copy of the ring good, each
// corruption of one header byte in turn (each bit, and all bits), calls
// refused to check that an open of f fails with want, and puts the byte
// back: want is ErrVersion for the version field, ErrCorrupt elsewhere.
func corruptEveryHeaderByte(t *testing.T, f io.WriterAt, good []byte, refused func(what string, want error)) {
	t.Helper()
	for off := range layout.HeaderSize {
		want := ErrCorrupt
		if off >= layout.VersionOffset && off < layout.VersionOffset+4 {
			want = ErrVersion
		}
		for _, mask := range []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff} {
			if _, err := f.WriteAt([]byte{good[off] ^ mask}, int64(off)); err != nil {
				t.Fatal(err)
			}
			refused(fmt.Sprintf("byte %d xor %#02x", off, mask), want)
		}
		if _, err := f.WriteAt(good[off:off+1], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
}

// shortOrLongFiles are copies of the ring good cut short or grown
// (ErrCorrupt).
func shortOrLongFiles(good []byte) []badFile {
	return []badFile{
		{"half the file", good[:len(good)/2]},
		{"10 bytes", good[:10]},
		{"the header alone", good[:layout.HeaderSize]},
		{"one byte short", good[:len(good)-1]},
		{"one byte too many", append(bytes.Clone(good), 0)},
	}
}

func TestBadInputATruncatedOrExtendedFileIsErrCorrupt(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	for _, tt := range shortOrLongFiles(ringBytes(t, Options{Kind: SPSC, SlotSize: 256, Slots: 16})) {
		t.Run(tt.name, func(t *testing.T) {
			openMustFail(t, shmFile(t, tt.data), ErrCorrupt, tt.name)
		})
	}
}

func TestBadInputAnotherLayoutVersionIsErrVersion(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	good := ringBytes(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	for _, v := range []uint32{0, layout.Version + 1, 0xffffffff} {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint32(b[layout.VersionOffset:], v)
		binary.LittleEndian.PutUint32(b[layout.ChecksumOffset:], layout.Checksum(b)) // a consistent file of another version
		name := shmFile(t, b)
		r, err := OpenWith(name, shortOpen)
		if err == nil {
			r.Close()
		}
		if !errors.Is(err, ErrVersion) || errors.Is(err, ErrCorrupt) {
			t.Errorf("Open of a version %d file = %v, want ErrVersion (and not ErrCorrupt)", v, err)
		}
	}
}

func TestBadInputCreateOfAnExistingNameIsErrExistAndLeavesTheFileAlone(t *testing.T) {
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 64, Slots: 8})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 40)
	encodeMessage(msg, 7)
	if err := p.TrySend(msg); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Kind: SPSC, SlotSize: 64, Slots: 8},
		{Kind: SPSC, SlotSize: 4096, Slots: 1 << 10},
		{Kind: SPSC, SlotSize: 8, Slots: 1, Mode: 0o644},
	} {
		if r2, err := Create(r.Name(), o); !errors.Is(err, ErrExist) {
			if err == nil {
				r2.Close()
			}
			t.Errorf("Create(%+v) of an existing name = %v, want ErrExist", o, err)
		}
	}
	after, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatalf("the existing file after a failed Create: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("a failed Create changed the existing file")
	}
	other, err := Open(r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	c, err := other.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := c.TryRecv(buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMessage(buf[:n], 7, len(msg)); err != nil {
		t.Fatalf("the message in the existing ring: %v", err)
	}
}

func TestBadInputInvalidOptionsAreErrInvalid(t *testing.T) {
	ok := Options{Kind: SPSC, SlotSize: 64, Slots: 8}
	with := func(f func(*Options)) Options { o := ok; f(&o); return o }
	tests := []struct {
		name string
		ring string // "" means a unique name
		o    Options
	}{
		{"zero slots", "", with(func(o *Options) { o.Slots = 0 })},
		{"three slots (not a power of two)", "", with(func(o *Options) { o.Slots = 3 })},
		{"negative slots", "", with(func(o *Options) { o.Slots = -8 })},
		{"more slots than the layout allows", "", with(func(o *Options) { o.Slots = int(min(2*uint64(layout.MaxSlotCount), math.MaxInt)) })}, // 32-bit: no int is that large
		{"slot size zero", "", with(func(o *Options) { o.SlotSize = 0 })},
		{"negative slot size", "", with(func(o *Options) { o.SlotSize = -1 })},
		{"slot size beyond 1 GiB", "", with(func(o *Options) { o.SlotSize = layout.MaxSlotSize + 1 })},
		{"a file beyond the layout's limit", "", with(func(o *Options) { o.SlotSize = layout.MaxSlotSize; o.Slots = layout.MaxSlotCount / 2 })},
		{"kind zero", "", with(func(o *Options) { o.Kind = 0 })},
		{"kind 99", "", with(func(o *Options) { o.Kind = 99 })},
		{"a directory's mode", "", with(func(o *Options) { o.Mode = os.ModeDir | 0o700 })},
		{"setuid", "", with(func(o *Options) { o.Mode = os.ModeSetuid | 0o600 })},
		{"execute bits", "", with(func(o *Options) { o.Mode = 0o777 })},
		{"an owner who may not write", "", with(func(o *Options) { o.Mode = 0o444 })},
		{"an owner who may not read", "", with(func(o *Options) { o.Mode = 0o266 })},
		{"a mode for the group only", "", with(func(o *Options) { o.Mode = 0o060 })},
		{"an empty name", "\x00empty", ok},
		{"the name .", ".", ok},
		{"the name ..", "..", ok},
		{"a name with a NUL byte", "bad\x00name", ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.ring
			switch name {
			case "":
				name = uniqueName(t)
			case "\x00empty":
				name = ""
			}
			entries, _ := os.ReadDir("/dev/shm")
			r, err := Create(name, tt.o)
			if err == nil {
				r.Close()
				Remove(name)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Create(%q, %+v) = %v, want ErrInvalid", name, tt.o, err)
			}
			if after, _ := os.ReadDir("/dev/shm"); len(after) > len(entries) {
				for _, e := range after {
					if e.Name() == name {
						t.Errorf("a failed Create left %s behind", e.Name())
					}
				}
			}
		})
	}
}

// TestBadInputCreateOnAFullFileSystemIsErrNoSpace mounts a 1 MiB tmpfs and
// creates a bigger ring on it: ErrNoSpace at once (not a SIGBUS later), and
// no file left behind.
func TestBadInputCreateOnAFullFileSystemIsErrNoSpace(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	name := filepath.Join(dir, "ring")
	o := Options{Kind: SPSC, SlotSize: 4096, Slots: 1 << 10} // 4+ MiB
	r, err := Create(name, o)
	if err == nil {
		r.Close()
	}
	if !errors.Is(err, ErrNoSpace) {
		t.Errorf("Create of a %d-slot ring of %d bytes on a 1 MiB tmpfs = %v, want ErrNoSpace", o.Slots, o.SlotSize, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed Create left %d file(s) behind: %v", len(left), left)
	}
	small, err := Create(name, Options{Kind: SPSC, SlotSize: 64, Slots: 8}) // the file system itself works
	if err != nil {
		t.Fatalf("Create of a small ring on the same tmpfs = %v", err)
	}
	small.Close()
	if err := Remove(name); err != nil {
		t.Fatal(err)
	}
}

// scribbler is a second, independent mapping of a live ring's file: another
// process's view, writing whatever it likes.
type scribbler struct{ mem []byte }

func newScribbler(t *testing.T, r *Ring) scribbler {
	t.Helper()
	f, err := os.OpenFile(r.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, int(r.Header().FileSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return scribbler{mem}
}

func (s scribbler) put64(off int, v uint64) { binary.LittleEndian.PutUint64(s.mem[off:], v) }
func (s scribbler) put32(off int, v uint32) { binary.LittleEndian.PutUint32(s.mem[off:], v) }

// slotOffset is the file offset of slot i's length word.
func slotOffset(r *Ring, i uint64) int {
	h := r.Header()
	return int(h.SlotOffset(i)) + layout.SlotLengthOffset
}

// noPanic runs f and turns a panic into an error.
func noPanic(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return f()
}

// TestBadInputScribblingOnALiveMappingIsErrCorrupt writes garbage into the
// words of a live ring through a second mapping, as a buggy or hostile
// process could: the side that next reads the word gets ErrCorrupt from its
// next operation that depends on it, never a panic, a hang, or a wrong
// message.
func TestBadInputScribblingOnALiveMappingIsErrCorrupt(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const slots, slotSize = 8, 64
	type state struct {
		r *Ring
		p *Producer
		c *Consumer
		s scribbler
	}
	msg := make([]byte, 32)
	send := func(t *testing.T, st state, n int) {
		t.Helper()
		for range n {
			if err := st.p.TrySend(msg); err != nil {
				t.Fatalf("setup: TrySend: %v", err)
			}
		}
	}
	recv := func(t *testing.T, st state, n int) {
		t.Helper()
		buf := make([]byte, slotSize)
		for range n {
			if _, err := st.c.TryRecv(buf); err != nil {
				t.Fatalf("setup: TryRecv: %v", err)
			}
		}
	}
	// guard turns a hang into a failure instead of relying on the watchdog.
	guard := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), time.Minute)
	}
	consumerOps := map[string]func(st state) error{
		"TryRecv": func(st state) error { _, err := st.c.TryRecv(make([]byte, slotSize)); return err },
		"Receive": func(st state) error {
			ctx, cancel := guard()
			defer cancel()
			m, err := st.c.Receive(ctx)
			if err == nil {
				st.c.Release()
				return fmt.Errorf("received %d bytes", len(m))
			}
			return err
		},
		"ReceiveBatch and At": func(st state) error {
			ctx, cancel := guard()
			defer cancel()
			ms, err := st.c.ReceiveBatch(ctx, slots)
			if err != nil {
				return err
			}
			defer st.c.Release()
			for i := range ms.Len() {
				if _, err := ms.At(i); err != nil {
					return err
				}
			}
			return fmt.Errorf("received %d messages", ms.Len())
		},
	}
	producerOps := map[string]func(st state) error{
		"TrySend": func(st state) error { return st.p.TrySend(msg) },
		"Send": func(st state) error {
			ctx, cancel := guard()
			defer cancel()
			return st.p.Send(ctx, msg)
		},
		"ClaimBatch": func(st state) error {
			ctx, cancel := guard()
			defer cancel()
			b, err := st.p.ClaimBatch(ctx, slots)
			if err == nil {
				st.p.Abort()
				return fmt.Errorf("claimed %d slots", b.Len())
			}
			return err
		},
	}
	// A new handle on another Open of the file validates the cursors it adopts.
	attachOps := map[string]func(st state) error{
		"a new Producer": func(st state) error {
			st.p.Close()
			r2, err := Open(st.r.Name())
			if err != nil {
				return err
			}
			defer r2.Close()
			_, err = r2.Producer()
			return err
		},
		"a new Consumer": func(st state) error {
			st.c.Close()
			r2, err := Open(st.r.Name())
			if err != nil {
				return err
			}
			defer r2.Close()
			_, err = r2.Consumer()
			return err
		},
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T, st state)
		scribble func(st state)
		ops      map[string]func(st state) error
	}{
		{
			"a producer cursor more than a ring ahead of the consumer",
			func(t *testing.T, st state) { send(t, st, 2); recv(t, st, 2) },
			func(st state) { st.s.put64(layout.ProducerCursorOffset, 2+slots+1) },
			consumerOps,
		},
		{
			"a producer cursor far ahead (near 2^64)",
			func(t *testing.T, st state) { send(t, st, 2); recv(t, st, 2) },
			func(st state) { st.s.put64(layout.ProducerCursorOffset, ^uint64(0)) },
			consumerOps,
		},
		{
			"a producer cursor below the consumer's",
			func(t *testing.T, st state) { send(t, st, 3); recv(t, st, 3) },
			func(st state) { st.s.put64(layout.ProducerCursorOffset, 1) },
			consumerOps,
		},
		{
			"a producer cursor that went back, on a new consumer",
			func(t *testing.T, st state) { send(t, st, 3); recv(t, st, 3) },
			func(st state) { st.s.put64(layout.ProducerCursorOffset, 1) },
			map[string]func(st state) error{"a new Consumer": attachOps["a new Consumer"]},
		},
		{
			"a consumer cursor beyond the producer's",
			func(t *testing.T, st state) { send(t, st, slots) },
			func(st state) { st.s.put64(layout.ConsumerCursorOffset, slots+5) },
			producerOps,
		},
		{
			"a consumer cursor that went back",
			func(t *testing.T, st state) { send(t, st, slots); recv(t, st, 4); send(t, st, 4) },
			func(st state) { st.s.put64(layout.ConsumerCursorOffset, 2) },
			producerOps,
		},
		{
			"a consumer cursor beyond the producer's, on a new producer",
			func(t *testing.T, st state) { send(t, st, 2) },
			func(st state) { st.s.put64(layout.ConsumerCursorOffset, 3) },
			map[string]func(st state) error{"a new Producer": attachOps["a new Producer"]},
		},
		{
			"a slot length beyond the slot size",
			func(t *testing.T, st state) { send(t, st, 1) },
			func(st state) { st.s.put32(slotOffset(st.r, 0), slotSize+1) },
			consumerOps,
		},
		{
			"a slot length of 2^32-1",
			func(t *testing.T, st state) { send(t, st, 3); recv(t, st, 2) },
			func(st state) { st.s.put32(slotOffset(st.r, 2), 0xffffffff) },
			consumerOps,
		},
		{
			"producer state bits outside StateMask",
			func(t *testing.T, st state) {},
			func(st state) { st.s.put32(layout.ProducerStateOffset, layout.StateAttached|0x10) },
			consumerOps,
		},
		{
			"a producer state word of all ones",
			func(t *testing.T, st state) {},
			func(st state) { st.s.put32(layout.ProducerStateOffset, 0xffffffff) },
			consumerOps,
		},
		{
			"consumer state bits outside StateMask",
			func(t *testing.T, st state) { send(t, st, slots) },
			func(st state) { st.s.put32(layout.ConsumerStateOffset, layout.StateAttached|0x80000000) },
			map[string]func(st state) error{"Send": producerOps["Send"], "ClaimBatch": producerOps["ClaimBatch"]},
		},
		{
			"a consumer state word of all ones",
			func(t *testing.T, st state) { send(t, st, slots) },
			func(st state) { st.s.put32(layout.ConsumerStateOffset, 0xffffffff) },
			map[string]func(st state) error{"Send": producerOps["Send"], "ClaimBatch": producerOps["ClaimBatch"]},
		},
	}
	for _, tt := range tests {
		for opName, op := range tt.ops {
			t.Run(tt.name+" fails "+opName, func(t *testing.T) {
				r := newTestRing(t, Options{Kind: SPSC, SlotSize: slotSize, Slots: slots})
				p, err := r.Producer()
				if err != nil {
					t.Fatal(err)
				}
				c, err := r.Consumer()
				if err != nil {
					t.Fatal(err)
				}
				st := state{r: r, p: p, c: c, s: newScribbler(t, r)}
				tt.setup(t, st)
				tt.scribble(st)
				if err := noPanic(func() error { return op(st) }); !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s after %s = %v, want ErrCorrupt", opName, tt.name, err)
				}
			})
		}
	}
}
